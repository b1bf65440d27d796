//! How a composite index row is laid out in `search_composite`, the one table for every
//! composite parameter: component 0 is a token (or a reference's type and id), component 1 any
//! kind, component 2 a number (MolecularSequence's coordinates). The translation reads these
//! columns; both backends write them from here.

use fhir_search::{CompositeEntry, CompositeValue};

/// The value columns of one `search_composite` row, after `param`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompositeColumns {
    pub c0_system: Option<String>,
    pub c0_code: Option<String>,
    pub c1_system: Option<String>,
    pub c1_code: Option<String>,
    pub c1_value: Option<f64>,
    pub c1_low: Option<f64>,
    pub c1_high: Option<f64>,
    pub c1_text: Option<String>,
    pub c2_value: Option<f64>,
    pub c2_low: Option<f64>,
    pub c2_high: Option<f64>,
}

impl CompositeColumns {
    pub fn of(entry: &CompositeEntry) -> CompositeColumns {
        let mut row = CompositeColumns::default();
        for (index, part) in entry.parts.iter().enumerate() {
            match (index, part) {
                (0, CompositeValue::Token { system, code } | CompositeValue::Number { system, code, .. }) => {
                    row.c0_system.clone_from(system);
                    row.c0_code.clone_from(code);
                }
                (1, CompositeValue::Token { system, code }) => {
                    row.c1_system.clone_from(system);
                    row.c1_code.clone_from(code);
                }
                (1, CompositeValue::Number { system, code, value, low, high }) => {
                    row.c1_system.clone_from(system);
                    row.c1_code.clone_from(code);
                    (row.c1_value, row.c1_low, row.c1_high) = (Some(*value), Some(*low), Some(*high));
                }
                #[expect(clippy::cast_precision_loss, reason = "microsecond instants fit a double's 53-bit mantissa")]
                (1, CompositeValue::Date { low, high }) => {
                    (row.c1_low, row.c1_high) = (Some(*low as f64), Some(*high as f64));
                }
                (1, CompositeValue::String { normalized }) => row.c1_text = Some(normalized.clone()),
                (2, CompositeValue::Number { value, low, high, .. }) => {
                    (row.c2_value, row.c2_low, row.c2_high) = (Some(*value), Some(*low), Some(*high));
                }
                #[expect(clippy::cast_precision_loss, reason = "microsecond instants fit a double's 53-bit mantissa")]
                (2, CompositeValue::Date { low, high }) => {
                    (row.c2_low, row.c2_high) = (Some(*low as f64), Some(*high as f64));
                }
                _ => {}
            }
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(code: &str) -> CompositeValue {
        CompositeValue::Token { system: Some("http://loinc.org".into()), code: Some(code.into()) }
    }

    #[test]
    fn each_component_lands_in_its_columns() {
        let quantity = CompositeValue::Number {
            system: Some("http://unitsofmeasure.org".into()),
            code: Some("mm[Hg]".into()),
            value: 120.0,
            low: 119.5,
            high: 120.5,
        };
        let row = CompositeColumns::of(&CompositeEntry {
            param: "code-value-quantity".into(),
            parts: vec![token("8480-6"), quantity],
        });
        assert_eq!(row.c0_code.as_deref(), Some("8480-6"));
        assert_eq!(row.c1_code.as_deref(), Some("mm[Hg]"));
        assert_eq!((row.c1_value, row.c1_low, row.c1_high), (Some(120.0), Some(119.5), Some(120.5)));
        assert_eq!(row.c2_value, None);

        let date = CompositeValue::Date { low: 1_000_000, high: 2_000_000 };
        let row = CompositeColumns::of(&CompositeEntry {
            param: "code-value-date".into(),
            parts: vec![token("x"), date.clone()],
        });
        assert_eq!((row.c1_low, row.c1_high, row.c1_value), (Some(1e6), Some(2e6), None));

        let text = CompositeValue::String { normalized: "abc".into() };
        let row =
            CompositeColumns::of(&CompositeEntry { param: "code-value-string".into(), parts: vec![token("x"), text] });
        assert_eq!(row.c1_text.as_deref(), Some("abc"));

        let coordinate = CompositeValue::Number { system: None, code: None, value: 7.0, low: 6.5, high: 7.5 };
        let row = CompositeColumns::of(&CompositeEntry {
            param: "chromosome-window-coordinate".into(),
            parts: vec![token("1"), coordinate.clone(), coordinate],
        });
        assert_eq!((row.c2_value, row.c2_low, row.c2_high), (Some(7.0), Some(6.5), Some(7.5)));
        let row =
            CompositeColumns::of(&CompositeEntry { param: "p".into(), parts: vec![token("1"), token("2"), date] });
        assert_eq!((row.c2_value, row.c2_low, row.c2_high), (None, Some(1e6), Some(2e6)));
    }
}
