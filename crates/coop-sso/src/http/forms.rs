//! Re-rendering forms with their errors: the error summary at the top links to the fields, and
//! each field names its own error (`aria-describedby`), as the kit's layout expects.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct FormErrors {
    errors: Vec<FieldError>,
    field_errors: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
struct FieldError {
    field: Option<&'static str>,
    message: String,
}

impl FormErrors {
    pub fn field(&mut self, field: &'static str, message: String) {
        self.field_errors.insert(field, message.clone());
        self.errors.push(FieldError {
            field: Some(field),
            message,
        });
    }

    pub fn general(&mut self, message: String) {
        self.errors.push(FieldError {
            field: None,
            message,
        });
    }

    /// The template data: `errors` for the summary, `field_errors` for the fields, plus `extra`.
    pub fn with(&self, extra: serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::json!({ "errors": self.errors, "field_errors": self.field_errors });
        if let (Some(map), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            map.extend(more);
        }
        v
    }
}

/// A form that carries nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct Empty {}
