//! What a container's `secrets[].valueFrom` and `environmentFiles[].value` name, and how the
//! values found are used: a secret's JSON key, an environment file's lines.

/// What a `valueFrom` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef<'a> {
    /// An SSM parameter, by name or ARN (as given).
    Parameter(&'a str),
    /// A Secrets Manager secret: its ARN, then the optional `:json-key:version-stage:version-id`.
    Secret {
        /// The secret's ARN.
        id: &'a str,
        /// A key of the secret's JSON object, whose value is the one wanted.
        json_key: Option<&'a str>,
        /// A version stage (`AWSCURRENT`, ...).
        version_stage: Option<&'a str>,
        /// A version ID.
        version_id: Option<&'a str>,
    },
}

/// Parses a `valueFrom`; the error says what is wrong with it.
pub fn parse_value_from(value_from: &str) -> Result<SecretRef<'_>, String> {
    if value_from.is_empty() {
        return Err("valueFrom is empty".into());
    }
    if !value_from.starts_with("arn:") {
        return Ok(SecretRef::Parameter(value_from));
    }
    let fields: Vec<&str> = value_from.split(':').collect();
    let malformed =
        || format!("'{value_from}' is not an SSM parameter or Secrets Manager secret ARN");
    match fields.get(2).copied() {
        Some("ssm") if fields.len() == 6 && fields[5].starts_with("parameter/") => {
            Ok(SecretRef::Parameter(value_from))
        }
        Some("secretsmanager")
            if fields.len() >= 7 && fields.len() <= 10 && fields[5] == "secret" =>
        {
            // The secret's ARN is its first seven fields; the rest are the optional suffixes.
            let arn_len = fields[..7].iter().map(|f| f.len() + 1).sum::<usize>() - 1;
            let part = |i: usize| fields.get(i).copied().filter(|f| !f.is_empty());
            Ok(SecretRef::Secret {
                id: &value_from[..arn_len],
                json_key: part(7),
                version_stage: part(8),
                version_id: part(9),
            })
        }
        _ => Err(malformed()),
    }
}

/// An environment file's S3 object ARN (`arn:aws:s3:::bucket/key`) as bucket and key.
pub fn parse_s3_arn(arn: &str) -> Result<(&str, &str), String> {
    arn.strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":s3:::"))
        .and_then(|(_, path)| path.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| format!("'{arn}' is not an S3 object ARN (arn:aws:s3:::bucket/key)"))
}

/// The value of `key` in a secret holding a JSON object (a string as it is, anything else as
/// JSON).
pub fn json_key(secret: &str, key: &str) -> Result<String, String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(secret)
        .map_err(|_| format!("the secret is not a JSON object, so it has no key '{key}'"))?;
    match object.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("the secret has no key '{key}'")),
    }
}

/// An environment file's variables, in order: `NAME=VALUE` lines; blank lines and lines
/// starting with `#` are skipped; a line without `=` is an error naming it.
pub fn env_file(contents: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars = vec![];
    for (n, line) in contents.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| format!("line {} is not NAME=VALUE", n + 1))?;
        vars.push((name.to_string(), value.to_string()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";

    #[test]
    fn value_from_names_a_parameter_or_a_secret_with_its_suffixes() {
        assert_eq!(
            parse_value_from("/prod/db"),
            Ok(SecretRef::Parameter("/prod/db"))
        );
        let ssm = "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db";
        assert_eq!(parse_value_from(ssm), Ok(SecretRef::Parameter(ssm)));
        assert_eq!(
            parse_value_from(SECRET),
            Ok(SecretRef::Secret {
                id: SECRET,
                json_key: None,
                version_stage: None,
                version_id: None
            })
        );
        let with = format!("{SECRET}:password:AWSPREVIOUS:");
        assert_eq!(
            parse_value_from(&with),
            Ok(SecretRef::Secret {
                id: SECRET,
                json_key: Some("password"),
                version_stage: Some("AWSPREVIOUS"),
                version_id: None
            })
        );
        let by_id = format!("{SECRET}:::v-1");
        assert!(matches!(
            parse_value_from(&by_id),
            Ok(SecretRef::Secret {
                json_key: None,
                version_id: Some("v-1"),
                ..
            })
        ));
        for bad in [
            "",
            "arn:aws:s3:::bucket/key",
            "arn:aws:secretsmanager:us-east-1:0:db",
        ] {
            assert!(parse_value_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s3_arns_give_bucket_and_key() {
        assert_eq!(
            parse_s3_arn("arn:aws:s3:::cfg/app/prod.env"),
            Ok(("cfg", "app/prod.env"))
        );
        assert!(parse_s3_arn("arn:aws:s3:::cfg").is_err());
        assert!(parse_s3_arn("s3://cfg/app.env").is_err());
    }

    #[test]
    fn json_keys_and_env_files() {
        assert_eq!(
            json_key(r#"{"user":"u","port":5432}"#, "user"),
            Ok("u".into())
        );
        assert_eq!(
            json_key(r#"{"user":"u","port":5432}"#, "port"),
            Ok("5432".into())
        );
        assert!(json_key(r#"{"user":"u"}"#, "password").is_err());
        assert!(json_key("plain", "user").is_err());
        let vars = env_file("# comment\nA=1\n\nB=two=2\r\nEMPTY=\n").unwrap();
        let want = [("A", "1"), ("B", "two=2"), ("EMPTY", "")].map(|(k, v)| (k.into(), v.into()));
        assert_eq!(vars, want);
        assert_eq!(
            env_file("A=1\nnot a variable\n"),
            Err("line 2 is not NAME=VALUE".into())
        );
    }
}
