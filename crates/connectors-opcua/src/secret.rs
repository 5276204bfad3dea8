//! The password of a `username` identity, from the environment variable the configuration
//! names or from the file its `_FILE` variant names (a mounted Kubernetes Secret).

use std::collections::BTreeMap;

use connectors::config::ConfigError;

/// The secret in the variable `name`, or in the file named by `name_FILE` (one trailing
/// newline dropped); both set is ambiguous and refused, naming `field`.
pub fn secret(
    vars: &BTreeMap<String, String>,
    field: &str,
    name: &str,
) -> Result<String, ConfigError> {
    let refuse = |reason: String| ConfigError {
        field: field.to_string(),
        reason,
    };
    let file_var = format!("{name}_FILE");
    let direct = vars.get(name).filter(|v| !v.is_empty());
    let file = vars.get(&file_var).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(refuse(format!(
            "both {name} and {file_var} are set; set one"
        ))),
        (Some(v), None) => Ok(v.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| refuse(format!("{file_var}: cannot read {path}: {e}")))?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if text.is_empty() {
                return Err(refuse(format!("{file_var}: {path} is empty")));
            }
            Ok(text.to_string())
        }
        (None, None) => Err(refuse(format!("neither {name} nor {file_var} is set"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_the_variable_or_the_file_never_both() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").expect("written");
        let path = path.to_string_lossy().into_owned();
        let vars = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(secret(&vars(&[("PW", "a")]), "f", "PW"), Ok("a".into()));
        assert_eq!(
            secret(&vars(&[("PW_FILE", &path)]), "f", "PW"),
            Ok("s3cret".into())
        );
        let both = secret(
            &vars(&[("PW", "a"), ("PW_FILE", &path)]),
            "f.password_secret",
            "PW",
        )
        .expect_err("ambiguous");
        assert_eq!(both.field, "f.password_secret");
        let missing = secret(&vars(&[]), "f.password_secret", "PW").expect_err("missing");
        assert!(missing.reason.contains("PW_FILE"), "{missing}");
    }
}
