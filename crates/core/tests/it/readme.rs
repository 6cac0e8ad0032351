//! The README's metrics reference is the catalogue, rendered.

use sluice_core::metrics::reference_table;

use crate::repo;

const BEGIN: &str = "<!-- metrics:begin -->\n";
const END: &str = "<!-- metrics:end -->";

#[test]
fn the_readme_lists_the_catalogue() {
    let path = repo("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README.md has no <!-- metrics:begin --> marker")
        + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README.md has no <!-- metrics:end --> marker");
    let table = reference_table();
    if readme[start..end] == table {
        return;
    }
    // A test may read its own switch: only binaries are kept from the environment.
    #[allow(clippy::disallowed_methods)]
    let update = std::env::var_os("UPDATE_METRICS_DOC").is_some();
    if update {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the README's metrics reference is out of date; regenerate it with\n  \
         UPDATE_METRICS_DOC=1 cargo test -p sluice-core --test it readme"
    );
}
