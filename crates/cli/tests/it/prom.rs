//! A small reader of the Prometheus text format, enough to check what a
//! `/metrics` page says: samples with their labels, and the `# TYPE` and
//! `# HELP` lines.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed page.
#[derive(Debug, Default)]
pub struct Page {
    pub samples: Vec<Sample>,
    /// `# TYPE` by metric name.
    pub types: BTreeMap<String, String>,
    /// `# HELP` by metric name.
    pub help: BTreeMap<String, String>,
}

impl Page {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut page = Page::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
                page.types.insert(name.to_owned(), kind.to_owned());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                page.help.insert(name.to_owned(), unescape(help));
            } else if !line.starts_with('#') {
                page.samples.push(sample(line)?);
            }
        }
        Ok(page)
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// Whether any sample of `name` has labels including `labels`.
    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.matching(name, labels).next().is_some()
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

fn sample(line: &str) -> anyhow::Result<Sample> {
    let split = line
        .find(['{', ' '])
        .ok_or_else(|| anyhow::anyhow!("no value: {line}"))?;
    let mut labels = BTreeMap::new();
    let mut rest = &line[split..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            inner = inner.trim_start_matches(',');
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inner
                .split_once("=\"")
                .ok_or_else(|| anyhow::anyhow!("bad labels: {line}"))?;
            let (value, after) =
                quoted(after).ok_or_else(|| anyhow::anyhow!("bad value: {line}"))?;
            labels.insert(key.to_owned(), value);
            inner = after;
        }
    }
    let value = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no value: {line}"))?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse()?,
    };
    Ok(Sample {
        name: line[..split].to_owned(),
        labels,
        value,
    })
}

/// A label value up to its closing quote, unescaped, and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                (_, 'n') => value.push('\n'),
                (_, other) => value.push(other),
            },
            '"' => return Some((value, &text[i + 1..])),
            other => value.push(other),
        }
    }
    None
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\\\", "\\")
}

#[test]
fn reads_samples_labels_and_metadata() -> anyhow::Result<()> {
    let page = Page::parse(
        "# HELP a_total Things.\n# TYPE a_total counter\n\
         a_total{x=\"1\",y=\"a \\\"b\\\", c\"} 3\nb 0.5\n\
         h_bucket{le=\"+Inf\"} 2\n",
    )?;
    assert_eq!(page.types["a_total"], "counter");
    assert_eq!(page.help["a_total"], "Things.");
    assert_eq!(page.samples[0].labels["y"], "a \"b\", c");
    assert_eq!(page.sum("a_total", &[("x", "1")]), 3.0);
    assert_eq!(page.sum("b", &[]), 0.5);
    assert!(page.has("h_bucket", &[("le", "+Inf")]));
    assert!(!page.has("a_total", &[("x", "2")]));
    Ok(())
}
