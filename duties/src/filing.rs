//! A filing's values: checked against the template version it names,
//! rendered into the text of the report it becomes, and drafted for a parent
//! region from its children's filings.

use std::collections::BTreeMap;

use model::RegionCode;
use serde_json::{Map, Value, json};

use crate::Invalid;
use crate::template::{DEFAULT_TEXT_CHARS, FieldKind, Template};

/// The ATHG categories of an incident, in their order.
pub const CATEGORIES: [&str; 4] = ["ancaman", "tantangan", "hambatan", "gangguan"];
/// Most incidents one situation field may list.
pub const MAX_INCIDENTS: usize = 50;
/// Longest incident description, in characters.
pub const MAX_INCIDENT_CHARS: usize = 2_000;

/// The values of a filing, by field id.
pub type Values = BTreeMap<String, Value>;

/// Checks `values` against `template` for a filing of `region` and returns
/// them cleaned (text trimmed, `kondusif` read as `aman`). Every field id
/// must be the template's, required fields present, each value of its
/// field's kind; a problem is named `values.<field id>`. Attachment fields
/// are not given in `values`: their files come as parts of a multipart
/// request, named after the field; `files` names the parts sent.
pub fn check(
    template: &Template,
    region: &RegionCode,
    values: &Map<String, Value>,
    files: &[&str],
) -> Result<Values, Invalid> {
    if let Some(f) = files.iter().find(|f| template.field(f).is_none_or(|f| f.kind != FieldKind::Attachment)) {
        let ids: Vec<&str> = template
            .definition
            .fields
            .iter()
            .filter(|f| f.kind == FieldKind::Attachment)
            .map(|f| f.id.as_str())
            .collect();
        return Err(Invalid::new(
            format!("files.{}", f.chars().take(60).collect::<String>()),
            format!("name each file part after an attachment field of the template: {}", ids.join(", ")),
        ));
    }
    if let Some(k) = values.keys().find(|k| template.field(k).is_none()) {
        let ids: Vec<&str> = template.definition.fields.iter().map(|f| f.id.as_str()).collect();
        return Err(Invalid::new(
            format!("values.{}", k.chars().take(60).collect::<String>()),
            format!(
                "is not a field of template {} version {}; its fields are: {}",
                template.id,
                template.version,
                ids.join(", ")
            ),
        ));
    }
    let mut out = Values::new();
    for field in &template.definition.fields {
        let at = format!("values.{}", field.id);
        let value = values.get(&field.id).filter(|v| !v.is_null());
        if field.kind == FieldKind::Attachment {
            if value.is_some() {
                return Err(Invalid::new(at, "send the file as a part of a multipart request, named after the field"));
            }
            if field.required && !files.contains(&field.id.as_str()) {
                return Err(Invalid::new(
                    at,
                    format!("is required ({}): send the file as a multipart part named {}", field.label, field.id),
                ));
            }
            continue;
        }
        let Some(value) = value else {
            if field.required {
                return Err(Invalid::new(at, format!("is required ({})", field.label)));
            }
            continue;
        };
        let checked = match field.kind {
            FieldKind::Text => {
                let max = field.max_chars.unwrap_or(DEFAULT_TEXT_CHARS) as usize;
                let Value::String(s) = value else { return Err(Invalid::new(at, "must be text")) };
                let s = clean(s);
                if s.chars().count() > max {
                    return Err(Invalid::new(at, format!("is longer than {max} characters")));
                }
                if s.is_empty() {
                    if field.required {
                        return Err(Invalid::new(at, format!("is required ({})", field.label)));
                    }
                    continue;
                }
                Value::String(s)
            }
            FieldKind::Choice => match value {
                Value::String(s) if field.options.contains(s) => value.clone(),
                _ => return Err(Invalid::new(at, format!("give one of: {}", field.options.join(", ")))),
            },
            FieldKind::Number => {
                let Some(n) = value.as_f64().filter(|n| n.is_finite()) else {
                    return Err(Invalid::new(at, "must be a number"));
                };
                if field.min.is_some_and(|lo| n < lo) || field.max.is_some_and(|hi| n > hi) {
                    let lo = field.min.map_or("-".into(), |v| v.to_string());
                    let hi = field.max.map_or("-".into(), |v| v.to_string());
                    return Err(Invalid::new(at, format!("{n} is outside {lo} to {hi}")));
                }
                value.clone()
            }
            FieldKind::Date => {
                let Value::String(s) = value else { return Err(Invalid::new(at, "must be a day like 2026-11-30")) };
                crate::period::parse_day(s).map_err(|m| Invalid::new(&at, m))?;
                value.clone()
            }
            FieldKind::Region => {
                let Value::String(s) = value else { return Err(Invalid::new(at, "must be a region code like 72.71")) };
                let code = RegionCode::parse(s).map_err(|e| Invalid::new(&at, e.to_string()))?;
                if !code.is_within(region) {
                    return Err(Invalid::new(at, format!("{code} is outside {region}, the region this filing is for")));
                }
                value.clone()
            }
            FieldKind::Situation => situation(value, &at)?,
            FieldKind::Attachment => continue,
        };
        out.insert(field.id.clone(), checked);
    }
    Ok(out)
}

/// Control characters out (line breaks and tabs stay), trimmed.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect::<String>().trim().to_owned()
}

/// A situation value: `{"status": "aman"}` (or `kondusif`), or `{"status":
/// "athg", "incidents": [{"category", "text"}, …]}`.
fn situation(value: &Value, at: &str) -> Result<Value, Invalid> {
    const SHAPE: &str = "give {\"status\": \"aman\"} or {\"status\": \"athg\", \"incidents\": [{\"category\": \
                         \"gangguan\", \"text\": \"…\"}]}";
    let Value::Object(map) = value else { return Err(Invalid::new(at, SHAPE)) };
    if let Some(k) = map.keys().find(|k| !["status", "incidents"].contains(&k.as_str())) {
        return Err(Invalid::new(format!("{at}.{}", k.chars().take(60).collect::<String>()), SHAPE));
    }
    let incidents = match map.get("incidents") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(Invalid::new(format!("{at}.incidents"), SHAPE)),
    };
    match map.get("status").and_then(Value::as_str) {
        Some("aman" | "kondusif") => {
            if !incidents.is_empty() {
                return Err(Invalid::new(
                    format!("{at}.incidents"),
                    "a situation that is aman has no incidents: give status athg with them",
                ));
            }
            return Ok(json!({"status": "aman"}));
        }
        Some("athg") => {}
        _ => return Err(Invalid::new(format!("{at}.status"), SHAPE)),
    }
    if incidents.is_empty() || incidents.len() > MAX_INCIDENTS {
        return Err(Invalid::new(format!("{at}.incidents"), format!("list 1 to {MAX_INCIDENTS} incidents")));
    }
    let mut out = Vec::with_capacity(incidents.len());
    for (i, incident) in incidents.iter().enumerate() {
        let here = format!("{at}.incidents[{i}]");
        let category = incident.get("category").and_then(Value::as_str).map(str::to_lowercase);
        let Some(category) = category.filter(|c| CATEGORIES.contains(&c.as_str())) else {
            return Err(Invalid::new(format!("{here}.category"), "give one of ancaman, tantangan, hambatan, gangguan"));
        };
        let text = incident.get("text").and_then(Value::as_str).map(clean).unwrap_or_default();
        if text.is_empty() || text.chars().count() > MAX_INCIDENT_CHARS {
            return Err(Invalid::new(
                format!("{here}.text"),
                format!("describe what happened, where and who, in 1 to {MAX_INCIDENT_CHARS} characters"),
            ));
        }
        if incident.as_object().is_some_and(|m| m.len() > 2) {
            return Err(Invalid::new(here, "give only category and text"));
        }
        out.push(json!({"category": category, "text": text}));
    }
    Ok(json!({"status": "athg", "incidents": out}))
}

/// The text of the report a filing becomes: the filer's own words, one line
/// each: every incident as `Gangguan: …`, then every text answer. Labels,
/// choices, numbers and days stay in the filing's values and are not part of
/// the text: the same words in every filing ("Situasi konflik sosial",
/// "logistik pemilu") would tag each one with an indicator and count it in
/// the alert windows. A filing with nothing written says so.
pub fn render(template: &Template, values: &Values) -> String {
    let mut lines: Vec<String> = Vec::new();
    for field in &template.definition.fields {
        match (field.kind, values.get(&field.id)) {
            (FieldKind::Situation, Some(v)) => {
                for incident in v["incidents"].as_array().into_iter().flatten() {
                    let category = incident["category"].as_str().unwrap_or_default();
                    let mut title = category.to_owned();
                    if let Some(first) = title.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    lines.push(format!("{title}: {}", incident["text"].as_str().unwrap_or_default()));
                }
            }
            (FieldKind::Text, Some(Value::String(s))) => lines.push(s.clone()),
            _ => {}
        }
    }
    if lines.is_empty() { "Tidak ada kejadian yang dilaporkan.".into() } else { lines.join("\n") }
}

/// A draft of a parent region's filing from its children's: every incident
/// and text answer of each child, marked with the child's name; numbers
/// summed; a choice or day kept when every child gave the same, else left
/// for the parent to decide. `children` are (region, values) pairs.
pub fn draft(template: &Template, children: &[(RegionCode, Values)]) -> Values {
    let mut out = Values::new();
    for field in &template.definition.fields {
        let given: Vec<(&RegionCode, &Value)> =
            children.iter().filter_map(|(r, v)| v.get(&field.id).map(|v| (r, v))).collect();
        if given.is_empty() {
            continue;
        }
        let value = match field.kind {
            FieldKind::Situation => {
                let incidents: Vec<Value> = given
                    .iter()
                    .flat_map(|(r, v)| {
                        v["incidents"].as_array().cloned().unwrap_or_default().into_iter().map(move |i| {
                            json!({"category": i["category"], "text": format!("{}: {}", r.name(), i["text"].as_str().unwrap_or_default())})
                        })
                    })
                    .collect();
                if incidents.is_empty() {
                    json!({"status": "aman"})
                } else {
                    json!({"status": "athg", "incidents": incidents})
                }
            }
            FieldKind::Text => Value::String(
                given
                    .iter()
                    .filter_map(|(r, v)| v.as_str().map(|s| format!("{}: {s}", r.name())))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            FieldKind::Number => json!(given.iter().filter_map(|(_, v)| v.as_f64()).sum::<f64>()),
            FieldKind::Choice | FieldKind::Date => {
                if given.iter().all(|(_, v)| *v == given[0].1) && given.len() == children.len() {
                    given[0].1.clone()
                } else {
                    continue;
                }
            }
            FieldKind::Region | FieldKind::Attachment => continue,
        };
        out.insert(field.id.clone(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::builtins;

    fn lapsitda() -> Template {
        builtins().remove(0)
    }

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn quiet() -> Map<String, Value> {
        let mut m = Map::new();
        for i in model::INDICATORS {
            m.insert(format!("situasi_{i}"), json!({"status": "kondusif"}));
        }
        m
    }

    #[test]
    fn values_are_checked_field_by_field() {
        let t = lapsitda();
        let palu = code("72.71");
        let ok = check(&t, &palu, &quiet(), &[]).unwrap();
        assert_eq!(ok["situasi_narkoba"], json!({"status": "aman"}));
        assert_eq!(render(&t, &ok), "Tidak ada kejadian yang dilaporkan.");
        let cases: Vec<(Value, &str)> = vec![
            (json!({"cuaca": "cerah"}), "values.cuaca"),
            (json!({"situasi_narkoba": null}), "values.situasi_narkoba"),
            (json!({"situasi_narkoba": "aman"}), "values.situasi_narkoba"),
            (json!({"situasi_narkoba": {"status": "athg"}}), "values.situasi_narkoba.incidents"),
            (json!({"situasi_narkoba": {"status": "waspada"}}), "values.situasi_narkoba.status"),
            (
                json!({"situasi_narkoba": {"status": "athg", "incidents": [{"category": "bencana", "text": "x"}]}}),
                "values.situasi_narkoba.incidents[0].category",
            ),
            (
                json!({"situasi_narkoba": {"status": "athg", "incidents": [{"category": "ancaman", "text": " "}]}}),
                "values.situasi_narkoba.incidents[0].text",
            ),
            (
                json!({"situasi_narkoba": {"status": "aman", "incidents": [{"category": "ancaman", "text": "x"}]}}),
                "values.situasi_narkoba.incidents",
            ),
            (json!({"upaya": 5}), "values.upaya"),
            (json!({"lampiran": "foto.jpg"}), "values.lampiran"),
        ];
        for (patch, field) in cases {
            let mut values = quiet();
            for (k, v) in patch.as_object().unwrap() {
                values.insert(k.clone(), v.clone());
            }
            let err = check(&t, &palu, &values, &[]).unwrap_err();
            assert_eq!(err.field, field, "{patch}: {err}");
        }
        let pemilu = builtins().remove(1);
        let base = json!({"status_logistik": "diterima lengkap", "status_nphd": "ditandatangani"});
        let bad: Vec<(Value, &str)> = vec![
            (json!({"status_nphd": "sudah"}), "values.status_nphd"),
            (json!({"nilai_hibah": -1}), "values.nilai_hibah"),
            (json!({"nilai_hibah": "banyak"}), "values.nilai_hibah"),
            (json!({"tanggal_nphd": "15/01/2027"}), "values.tanggal_nphd"),
        ];
        for (patch, field) in bad {
            let mut values = base.as_object().unwrap().clone();
            values.extend(patch.as_object().unwrap().clone());
            assert_eq!(check(&pemilu, &palu, &values, &[]).unwrap_err().field, field, "{patch}");
        }
        let files = |names: &[&str]| check(&pemilu, &palu, base.as_object().unwrap(), names).map(|_| ());
        assert_eq!(files(&["dokumen"]), Ok(()));
        assert_eq!(files(&["status_nphd"]).unwrap_err().field, "files.status_nphd");
        assert_eq!(files(&["foto"]).unwrap_err().field, "files.foto");
        assert_eq!(
            check(&pemilu, &palu, &json!({"status_logistik": "x"}).as_object().unwrap().clone(), &[])
                .unwrap_err()
                .field,
            "values.status_logistik"
        );
    }

    #[test]
    fn the_text_holds_the_filers_words_and_the_draft_gathers_the_childrens() {
        let t = lapsitda();
        let mut palu = quiet();
        palu.insert(
            "situasi_konflik_sosial".into(),
            json!({"status": "athg", "incidents": [{"category": "gangguan", "text": "Bentrok antarwarga di Tatanga"}]}),
        );
        palu.insert("upaya".into(), json!("Mediasi oleh camat"));
        let palu = check(&t, &code("72.71"), &palu, &[]).unwrap();
        assert_eq!(render(&t, &palu), "Gangguan: Bentrok antarwarga di Tatanga\nMediasi oleh camat");
        let poso = check(&t, &code("72.02"), &quiet(), &[]).unwrap();
        let d = draft(&t, &[(code("72.71"), palu), (code("72.02"), poso)]);
        assert_eq!(
            d["situasi_konflik_sosial"],
            json!({"status": "athg", "incidents": [{"category": "gangguan", "text": "Kota Palu: Bentrok antarwarga di Tatanga"}]})
        );
        assert_eq!(d["situasi_narkoba"], json!({"status": "aman"}));
        assert_eq!(d["upaya"], json!("Kota Palu: Mediasi oleh camat"));
        // the draft is a valid filing of the province
        let map: Map<String, Value> = d.into_iter().collect();
        check(&t, &code("72"), &map, &[]).unwrap();
    }
}
