//! Alerts: a webhook told when reads fall back to the files, when a tier recovers, when Redis is
//! rehydrated, and when an outbox cannot drain.
//!
//! Three body shapes: a generic JSON object, DingTalk's and Feishu's text messages. Each
//! (kind, tier) pair is sent at most once per `min_interval_ms`, so a flapping server does not
//! flood a chat group. Webhook URLs carry their secret (DingTalk's `access_token` query
//! parameter, Feishu's last path segment), so logs name a webhook only by scheme and host.
//! Sending never blocks the caller: it runs in a task of its own and a failure is logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tierstore_model::{SecretUrl, Tier};

/// The `[alerts]` section. `Debug` shows the webhook as [`AlertConfig::display_url`].
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// The webhook (http or https).
    pub url: SecretUrl,
    /// The body shape the webhook expects.
    #[serde(default)]
    pub format: AlertFormat,
    /// The least time between two alerts of the same kind for the same tier.
    #[serde(default = "default_min_interval_ms")]
    pub min_interval_ms: u64,
}

fn default_min_interval_ms() -> u64 {
    60_000
}

impl std::fmt::Debug for AlertConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertConfig")
            .field("url", &self.display_url())
            .field("format", &self.format)
            .field("min_interval_ms", &self.min_interval_ms)
            .finish()
    }
}

impl AlertConfig {
    /// Checks the webhook is http(s) and the interval at most a day.
    pub fn validate(&self) -> Result<(), tierstore_model::StoreError> {
        let scheme = self.url.expose().scheme();
        if scheme != "http" && scheme != "https" {
            return Err(tierstore_model::StoreError::invalid(
                "alerts.url",
                self.display_url(),
                "a webhook is an http or https URL",
            ));
        }
        tierstore_model::error::ensure_between("alerts.min_interval_ms", self.min_interval_ms, 0, 86_400_000)
    }

    /// Every secret the webhook URL carries: its credentials and, since chat webhooks carry
    /// their token in the path, every path segment.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = self.url.credentials();
        if let Some(segments) = self.url.expose().path_segments() {
            out.extend(segments.filter(|s| s.len() >= 8).map(str::to_owned));
        }
        out
    }

    /// What logs may say about the webhook: scheme, host and port only.
    pub fn display_url(&self) -> String {
        let u = self.url.expose();
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{}{port}/***", u.scheme(), u.host_str().unwrap_or(""))
    }
}

/// A webhook's body shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// `{"source":"tierstore","kind":..,"tier":..,"message":..,"at":..}`.
    #[default]
    Generic,
    /// A DingTalk robot text message: `{"msgtype":"text","text":{"content":..}}`.
    Dingtalk,
    /// A Feishu (Lark) bot text message: `{"msg_type":"text","content":{"text":..}}`.
    Feishu,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A database tier stopped answering: reads come from the files, writes queue.
    Fallback,
    /// The tier answers again and its outbox has drained: reads go back to it.
    Recovery,
    /// Redis lost our data (or never had an account) and was filled again from the files.
    Rehydration,
    /// The outbox holds a write the tier keeps refusing.
    OutboxStuck,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    /// What happened.
    pub kind: AlertKind,
    /// To which tier.
    pub tier: Tier,
    /// For people.
    pub message: String,
}

impl Alert {
    /// The body `format` wants, as JSON.
    pub fn body(&self, format: AlertFormat, at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
        let kind = serde_json::to_value(self.kind).unwrap_or_default();
        let text = format!(
            "[tierstore] {} on the {} tier: {} ({})",
            kind.as_str().unwrap_or(""),
            self.tier.as_str(),
            self.message,
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        match format {
            AlertFormat::Generic => serde_json::json!({
                "source": "tierstore",
                "kind": kind,
                "tier": self.tier.as_str(),
                "message": self.message,
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }),
            AlertFormat::Dingtalk => serde_json::json!({"msgtype": "text", "text": {"content": text}}),
            AlertFormat::Feishu => serde_json::json!({"msg_type": "text", "content": {"text": text}}),
        }
    }
}

/// Sends alerts to the configured webhook, rate-limited; without one, only logs them.
#[derive(Clone)]
pub struct Alerts {
    config: Option<Arc<AlertConfig>>,
    client: reqwest::Client,
    last: Arc<Mutex<HashMap<(AlertKind, Tier), Instant>>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts").field("webhook", &self.config.as_ref().map(|c| c.display_url())).finish()
    }
}

impl Alerts {
    /// Alerts to `config`'s webhook, if any.
    pub fn new(config: Option<AlertConfig>) -> Alerts {
        // No redirects: a redirect target would get the URL (and its token) as the referrer.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Alerts { config: config.map(Arc::new), client, last: Arc::default() }
    }

    /// Logs the alert and, unless one of its kind for its tier went out within the interval,
    /// posts it in the background. Returns whether it was posted.
    pub fn raise(&self, alert: Alert) -> bool {
        match alert.kind {
            AlertKind::Recovery | AlertKind::Rehydration => {
                tracing::info!(kind = ?alert.kind, tier = %alert.tier.as_str(), "{}", alert.message)
            }
            AlertKind::Fallback | AlertKind::OutboxStuck => {
                tracing::warn!(kind = ?alert.kind, tier = %alert.tier.as_str(), "{}", alert.message)
            }
        }
        let Some(config) = self.config.clone() else { return false };
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            let key = (alert.kind, alert.tier);
            let now = Instant::now();
            if let Some(at) = last.get(&key)
                && now.duration_since(*at) < Duration::from_millis(config.min_interval_ms)
            {
                return false;
            }
            last.insert(key, now);
        }
        let body = alert.body(config.format, chrono::Utc::now());
        let client = self.client.clone();
        tokio::spawn(async move {
            let sent = client.post(config.url.expose().clone()).json(&body).send().await;
            match sent.and_then(|r| r.error_for_status()) {
                // DingTalk and Feishu answer 200 with an error code when they turn a message down.
                Ok(r) => match refusal(r.text().await.unwrap_or_default().as_str()) {
                    None => tracing::debug!(webhook = %config.display_url(), "alert sent"),
                    Some(code) => {
                        tracing::warn!(webhook = %config.display_url(), code, "the webhook turned the alert down")
                    }
                },
                // reqwest's error text includes the URL; say only what kind of failure it was.
                Err(e) => tracing::warn!(
                    webhook = %config.display_url(),
                    status = ?e.status(),
                    timeout = e.is_timeout(),
                    connect = e.is_connect(),
                    "alert could not be sent"
                ),
            }
        });
        true
    }
}

/// The error code in a chat webhook's answer (`errcode` for DingTalk, `code` for Feishu),
/// when it is not 0.
fn refusal(answer: &str) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(answer).ok()?;
    ["errcode", "code", "StatusCode"].iter().find_map(|k| v.get(*k)?.as_i64()).filter(|c| *c != 0)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use chrono::TimeZone;

    use super::*;

    fn config(url: &str, format: AlertFormat, min_interval_ms: u64) -> AlertConfig {
        AlertConfig { url: SecretUrl::parse("alerts.url", url).unwrap(), format, min_interval_ms }
    }

    fn alert(kind: AlertKind) -> Alert {
        Alert { kind, tier: Tier::Hot, message: "redis at 127.0.0.1:6379 unavailable".into() }
    }

    #[test]
    fn the_three_body_shapes() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 1, 30, 5).unwrap();
        let a = alert(AlertKind::Fallback);
        assert_eq!(
            a.body(AlertFormat::Generic, at),
            serde_json::json!({
                "source": "tierstore", "kind": "fallback", "tier": "hot",
                "message": "redis at 127.0.0.1:6379 unavailable", "at": "2026-12-07T01:30:05.000Z"
            })
        );
        let text = "[tierstore] fallback on the hot tier: redis at 127.0.0.1:6379 unavailable (2026-12-07T01:30:05Z)";
        assert_eq!(
            a.body(AlertFormat::Dingtalk, at),
            serde_json::json!({"msgtype": "text", "text": {"content": text}})
        );
        assert_eq!(
            a.body(AlertFormat::Feishu, at),
            serde_json::json!({"msg_type": "text", "content": {"text": text}})
        );
        let stuck = Alert { kind: AlertKind::OutboxStuck, ..a };
        assert_eq!(stuck.body(AlertFormat::Generic, at)["kind"], "outbox_stuck");
    }

    #[test]
    fn chat_webhooks_that_turn_an_alert_down_are_told_apart() {
        assert_eq!(refusal(r#"{"errcode":310000,"errmsg":"keywords not in content"}"#), Some(310000));
        assert_eq!(refusal(r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert_eq!(refusal(r#"{"code":19024,"msg":"Key Words Not Found"}"#), Some(19024));
        assert_eq!(refusal(r#"{"StatusCode":0,"StatusMessage":"success"}"#), None);
        assert_eq!(refusal(""), None);
    }

    #[test]
    fn webhook_secrets_are_never_shown() {
        let ding = config(
            "https://oapi.dingtalk.com/robot/send?access_token=abc123secret",
            AlertFormat::Dingtalk,
            1,
        );
        assert_eq!(ding.display_url(), "https://oapi.dingtalk.com/***");
        assert!(ding.secrets().contains(&"abc123secret".to_owned()), "{:?}", ding.secrets());
        let feishu =
            config("https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-token", AlertFormat::Feishu, 1);
        assert_eq!(feishu.display_url(), "https://open.feishu.cn/***");
        assert!(feishu.secrets().contains(&"0f1e2d3c-token".to_owned()), "{:?}", feishu.secrets());
        let debug = format!("{:?}", Alerts::new(Some(feishu)));
        assert!(!debug.contains("0f1e2d3c"), "{debug}");
    }

    /// A writer keeping everything the log subscriber prints.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn alerts_are_rate_limited_per_kind_and_tier_and_a_failed_post_logs_no_secret() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        // A closed loopback port: the post fails at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let url = format!("http://{closed}/hook/T0KEN-0123456789?access_token=Q-SECRET-42");
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let alerts = Alerts::new(Some(config(&url, AlertFormat::Generic, 60_000)));
                assert!(alerts.raise(alert(AlertKind::Fallback)), "the first is sent");
                assert!(
                    !alerts.raise(alert(AlertKind::Fallback)),
                    "the same kind and tier again is held back"
                );
                assert!(alerts.raise(alert(AlertKind::Recovery)), "another kind is sent");
                let cool = Alert { tier: Tier::Cool, ..alert(AlertKind::Fallback) };
                assert!(alerts.raise(cool), "another tier is sent");
                let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while String::from_utf8_lossy(&log.0.lock().unwrap())
                    .matches("alert could not be sent")
                    .count()
                    < 3
                {
                    assert!(std::time::Instant::now() < until, "the failed posts were not logged");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            });
        });
        let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
        assert!(text.contains(&format!("http://{closed}/***")), "{text}");
        assert!(
            !text.contains("T0KEN") && !text.contains("Q-SECRET"),
            "a webhook secret was logged:\n{text}"
        );
        let silent = Alerts::new(None);
        assert!(!silent.raise(alert(AlertKind::Fallback)), "without a webhook nothing is posted");
    }
}
