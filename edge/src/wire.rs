//! TEMPORARY stand-in for `shared::batch` and `shared::fingerprint` (contract of the shared-crate
//! branch) until that branch has them; replaced by re-exports then.
#![allow(missing_docs)]

use std::net::IpAddr;

pub mod batch {
    use super::*;
    pub const SIGNATURE_HEADER: &str = "x-edgemeter-signature";
    pub const TIMESTAMP_HEADER: &str = "x-edgemeter-timestamp";
    pub type RequestId = [u8; 16];
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct EdgeFacts {
        pub ip: Option<IpAddr>,
        pub fingerprint: [u8; 8],
        pub country: Option<String>,
        pub region: Option<String>,
        pub city: Option<String>,
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
        pub user_agent: Option<String>,
        pub accept_language: Option<String>,
        pub dnt: bool,
    }
    #[derive(Debug, Clone, PartialEq)]
    pub struct EdgeRequest {
        pub id: RequestId,
        pub received_at_ms: i64,
        pub query: String,
        pub facts: EdgeFacts,
    }
    #[derive(Debug, Clone, PartialEq)]
    pub struct Batch {
        pub items: Vec<EdgeRequest>,
    }
    pub fn encode(batch: &Batch) -> Vec<u8> {
        let items: Vec<serde_json::Value> = batch
            .items
            .iter()
            .map(|r| {
                serde_json::json!({"id": r.id.to_vec(), "t": r.received_at_ms, "q": r.query,
                "ip": r.facts.ip.map(|i| i.to_string()), "fp": r.facts.fingerprint.to_vec()})
            })
            .collect();
        serde_json::Value::from(items).to_string().into_bytes()
    }
    pub fn decode(bytes: &[u8]) -> Result<Batch, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let items = v
            .as_array()
            .ok_or("not an array")?
            .iter()
            .map(|i| {
                let mut id = [0u8; 16];
                for (k, b) in i["id"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .take(16)
                {
                    id[k] = b.as_u64().unwrap_or_default() as u8;
                }
                EdgeRequest {
                    id,
                    received_at_ms: i["t"].as_i64().unwrap_or_default(),
                    query: i["q"].as_str().unwrap_or_default().to_owned(),
                    facts: EdgeFacts {
                        ip: i["ip"].as_str().and_then(|s| s.parse().ok()),
                        ..EdgeFacts::default()
                    },
                }
            })
            .collect();
        Ok(Batch { items })
    }
    pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
        format!("fake-{}-{}-{}", secret.len(), timestamp, body.len())
    }
}

pub mod fingerprint {
    use super::*;
    pub fn fingerprint_request(
        key: &[u8],
        received_at_unix: i64,
        ip: IpAddr,
        ua: Option<&str>,
        lang: Option<&str>,
        params: &shared::params::Params,
    ) -> [u8; 8] {
        let day = received_at_unix.div_euclid(86_400);
        let flags = shared::request::PluginFlags::from_params(params).digits();
        let text = format!("{key:?}{day}{ip:?}{ua:?}{lang:?}{flags}");
        let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        h.to_le_bytes()
    }
}
