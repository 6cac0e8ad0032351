//! `industry`: one of the contract's fixed values, chosen by how many of
//! its keywords the text uses. A clear winner is believed; a close second
//! makes it a person's call; a tie is a guess.

use super::Finding;
use super::text::Sentence;

/// Each industry (the contract's enum) with the words and phrases that
/// point to it, in English, German, Spanish and French.
const TABLE: &[(&str, &[&str])] = &[
    (
        "software",
        &[
            "software",
            "saas",
            "cloud-based",
            "cloud platform",
            "web application",
            "mobile app",
            "developer tools",
            "api",
            "apis",
            "open source",
            "logiciel",
            "logiciels",
            "softwareentwicklung",
            "desarrollo de software",
        ],
    ),
    (
        "manufacturing",
        &[
            "manufacturer",
            "manufacturing",
            "manufactures",
            "factory",
            "factories",
            "production line",
            "machining",
            "cnc",
            "industrial machinery",
            "hersteller",
            "maschinenbau",
            "fabricante",
            "fabricación",
            "fábrica",
            "usine",
            "fabricant",
        ],
    ),
    (
        "healthcare",
        &[
            "hospital",
            "hospitals",
            "clinic",
            "clinics",
            "healthcare",
            "health care",
            "medical",
            "patients",
            "pharmacy",
            "pharmaceutical",
            "klinik",
            "krankenhaus",
            "clínica",
            "salud",
            "santé",
            "hôpital",
        ],
    ),
    (
        "financial_services",
        &[
            "bank",
            "banking",
            "insurance",
            "insurer",
            "fintech",
            "payments",
            "lending",
            "asset management",
            "versicherung",
            "banco",
            "seguros",
            "banque",
            "assurance",
        ],
    ),
    (
        "retail",
        &[
            "retail",
            "retailer",
            "e-commerce",
            "ecommerce",
            "online shop",
            "online store",
            "stores",
            "einzelhandel",
            "tienda",
            "tiendas",
            "magasins",
            "boutique",
        ],
    ),
    (
        "logistics",
        &[
            "logistics",
            "freight",
            "shipping",
            "warehousing",
            "warehouses",
            "fleet",
            "courier",
            "spedition",
            "logistik",
            "logística",
            "transporte",
            "logistique",
        ],
    ),
    (
        "hospitality",
        &[
            "hotel",
            "hotels",
            "restaurant",
            "restaurants",
            "catering",
            "hospitality",
            "hoteles",
            "restaurantes",
            "hostelería",
            "hôtellerie",
        ],
    ),
    (
        "construction",
        &[
            "construction",
            "contractor",
            "building materials",
            "civil engineering",
            "bauunternehmen",
            "construcción",
            "constructora",
            "bâtiment",
        ],
    ),
    (
        "education",
        &[
            "school",
            "schools",
            "university",
            "education",
            "e-learning",
            "courses",
            "universidad",
            "educación",
            "formation",
            "bildung",
        ],
    ),
    (
        "energy",
        &[
            "energy",
            "solar",
            "wind power",
            "renewable",
            "renewables",
            "utility",
            "oil and gas",
            "energie",
            "energía",
            "énergie",
        ],
    ),
    (
        "agriculture",
        &[
            "farm",
            "farms",
            "farming",
            "agriculture",
            "agricultural",
            "crops",
            "landwirtschaft",
            "agricultura",
        ],
    ),
    (
        "professional_services",
        &[
            "consulting",
            "consultancy",
            "law firm",
            "accounting",
            "agency",
            "beratung",
            "consultoría",
            "conseil",
        ],
    ),
];

/// The industries in the contract's enum, in table order.
pub fn values() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// The industry the sentences point to, if any keyword occurs.
pub fn finding(sentences: &[&Sentence]) -> Option<Finding> {
    // Per industry: keyword occurrences and the first sentence with one.
    let mut scores: Vec<(usize, usize, Option<&Sentence>)> = TABLE
        .iter()
        .enumerate()
        .map(|(i, _)| (0, i, None))
        .collect();
    for sentence in sentences {
        for (score, (_, keywords)) in scores.iter_mut().zip(TABLE) {
            let hits = keywords.iter().filter(|k| sentence.has_phrase(k)).count();
            if hits > 0 {
                score.0 += hits;
                score.2.get_or_insert(sentence);
            }
        }
    }
    // Most hits first; a tie keeps table order.
    scores.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let (top, index, sentence) = *scores.first()?;
    let second = scores.get(1).map_or(0, |s| s.0);
    let sentence = sentence.filter(|_| top > 0)?;
    let confidence = match (top, second) {
        (t, 0) if t >= 2 => 0.95,
        (1, 0) => 0.75,
        (t, s) if t >= 2 * s => 0.7,
        _ => 0.4,
    };
    let (name, _) = TABLE.get(index)?;
    let finding = Finding::new(*name, confidence, sentence);
    // Two industries in equal measure: the text does not say which it is.
    Some(if confidence < 0.5 {
        finding.contradicted()
    } else {
        finding
    })
}
