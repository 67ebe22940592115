//! `ftpgate sftpgo-config`: the SFTPGo settings that put SFTPGo in front of this gateway —
//! external auth hook and its token header, FTP with explicit TLS, a passive range, the
//! defender, and `setstat_mode` so clients never meet our (honest) 501 on chmod.

use serde_json::{Value, json};

use crate::config::Config;

/// The SFTPGo configuration fragment (merge into sftpgo.json).
pub fn fragment(cfg: &Config) -> anyhow::Result<Value> {
    let hook = format!(
        "{}/ftp/auth",
        cfg.httpfs_endpoint().trim_end_matches("/ftp/v1")
    );
    let (pstart, pend) = cfg.passive_port_range()?;
    let mut headers = Vec::new();
    if let Some(token) = &cfg.auth_hook.token {
        headers.push(json!({ "key": "X-Ftpgate-Hook-Token", "value": token, "url": hook }));
    }
    Ok(json!({
        "common": {
            // 2 = ignore chmod/chown and a 501 on chtimes for non-local filesystems.
            "setstat_mode": 2,
            // A venue NAT puts many cameras behind one address.
            "max_per_host_connections": 200,
            "defender": {
                "enabled": true,
                "driver": "memory",
                "ban_time": 30,
                "ban_time_increment": 50,
                "threshold": 15,
                "score_invalid": 2,
                "score_valid": 1,
                "score_limit_exceeded": 3,
                "observation_time": 30
            }
        },
        "data_provider": {
            "external_auth_hook": hook,
            // 1 = passwords only: cameras log in with a password.
            "external_auth_scope": 1
        },
        "http": {
            "timeout": 20,
            "headers": headers
        },
        "ftpd": {
            "bindings": [{
                "port": 21,
                "address": "",
                // 1 = explicit FTPS required; 0 lets cameras without TLS in too.
                "tls_mode": 0,
                "force_passive_ip": cfg.ftp.passive_host.clone().unwrap_or_default()
            }],
            "passive_port_range": { "start": pstart, "end": pend }
        }
    }))
}

/// Flattens a JSON fragment into SFTPGo's `SFTPGO_SECTION__KEY=value` environment variables.
pub fn env_lines(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                env_lines(&format!("{prefix}__{}", k.to_uppercase()), v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                env_lines(&format!("{prefix}__{i}"), v, out);
            }
        }
        Value::String(s) => out.push(format!("{prefix}={s}")),
        other => out.push(format!("{prefix}={other}")),
    }
}

pub fn render(cfg: &Config) -> anyhow::Result<String> {
    let frag = fragment(cfg)?;
    let mut env = Vec::new();
    if let Value::Object(m) = &frag {
        for (k, v) in m {
            env_lines(&format!("SFTPGO_{}", k.to_uppercase()), v, &mut env);
        }
    }
    let mut s = String::new();
    s.push_str("# SFTPGo configuration for ftpgate (merge into sftpgo.json)\n");
    s.push_str(&serde_json::to_string_pretty(&frag)?);
    s.push_str("\n\n# The same as environment variables\n");
    for line in env {
        s.push_str(&line);
        s.push('\n');
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_url_and_token_header() {
        let mut cfg = Config::default();
        cfg.auth_hook.token = Some("t0k".into());
        let f = fragment(&cfg).unwrap();
        assert_eq!(
            f["data_provider"]["external_auth_hook"],
            "http://127.0.0.1:8080/ftp/auth"
        );
        assert_eq!(f["http"]["headers"][0]["key"], "X-Ftpgate-Hook-Token");
        let text = render(&cfg).unwrap();
        assert!(text.contains("SFTPGO_HTTP__HEADERS__0__VALUE=t0k"));
        assert!(text.contains("SFTPGO_DATA_PROVIDER__EXTERNAL_AUTH_SCOPE=1"));
    }
}
