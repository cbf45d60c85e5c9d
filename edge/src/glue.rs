//! Binds the pure modules to the Workers runtime: the fetch handler (answer, then queue or forward
//! in `wait_until`) and the queue consumer (one signed batch per queue batch, ack / retry with
//! backoff / dead-letter). Only built for wasm32.
//!
//! Nothing here may panic (a panic aborts the isolate): every runtime error is logged as a JSON
//! line and the beacon is still answered.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use shared::batch::{self, EdgeRequest, HintHeaders};
use worker::js_sys::{self, Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{self, prelude::*, JsCast, JsValue};
use worker::{
    event, Context, Env, Fetch, Headers, Method as WorkerMethod, Queue, Request, RequestInit,
    Response,
};

use shared::answer::Answer;

use crate::beacon::{self, Beacon, Enrichment, Method, Route, Visitor};
use crate::config::{self, EdgeConfig};
use crate::delivery::{self, Disposition};
use crate::log::{self as edgelog, Level};

/// Cloudflare's limit of messages per `sendBatch` call.
const MAX_SEND_BATCH: usize = 100;

static CONFIG_WARNED: AtomicBool = AtomicBool::new(false);
static DIRECT_MODE_WARNED: AtomicBool = AtomicBool::new(false);

fn log(level: Level, msg: &str, fields: &[(&str, Value)]) {
    let line = edgelog::line(level, msg, fields);
    match level {
        Level::Error => worker::console_error!("{line}"),
        Level::Warn => worker::console_warn!("{line}"),
        Level::Info => worker::console_log!("{line}"),
    }
}

fn js_error_text(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            Reflect::get(err, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{err:?}"))
}

/// Reads the settings: vars and secrets are both plain string properties of `env`.
fn read_config(env: &Env) -> EdgeConfig {
    let env_value: &JsValue = env.as_ref();
    let config = EdgeConfig::from_lookup(|name| {
        Reflect::get(env_value, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    });
    if !config.warnings.is_empty() && !CONFIG_WARNED.swap(true, Ordering::Relaxed) {
        for warning in &config.warnings {
            log(
                Level::Warn,
                "invalid setting",
                &[("detail", Value::from(warning.as_str()))],
            );
        }
    }
    config
}

fn binding(env: &Env, name: &str) -> Option<Queue> {
    env.queue(name).ok()
}

fn now_ms() -> i64 {
    i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
}

/// A request's id: a UUIDv7 of its receipt time ([`shared::batch::request_id`]) whose random
/// bits come from crypto.getRandomValues; should that ever fail, Math.random still makes
/// collisions within one millisecond practically impossible.
fn request_id(received_at_ms: i64) -> [u8; 16] {
    let mut random = [0u8; 10];
    if getrandom::getrandom(&mut random).is_err() {
        let noise = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        random[..8].copy_from_slice(&noise.to_le_bytes());
        let more = (js_sys::Math::random() * 65536.0) as u16;
        random[8..].copy_from_slice(&more.to_le_bytes());
    }
    shared::batch::request_id(received_at_ms, random)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn cf_string(cf: &JsValue, name: &str) -> Option<String> {
    let value = Reflect::get(cf, &JsValue::from_str(name)).ok()?;
    value
        .as_string()
        .or_else(|| value.as_f64().map(|n| n.to_string()))
        .filter(|s| !s.is_empty())
}

/// What the edge knows about the visitor. `request.cf` is read field by field with `Reflect`
/// (the `worker::Cf` getters unwrap, and locally `cf` may be missing or partial).
fn visitor(req: &Request) -> Visitor {
    let cf = Reflect::get(req.inner().as_ref(), &JsValue::from_str("cf"))
        .ok()
        .filter(|cf| cf.is_object());
    let cf_field = |name: &str| cf.as_ref().and_then(|cf| cf_string(cf, name));
    let coordinate = |name: &str| {
        cf_field(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    Visitor {
        ip: header(req, "cf-connecting-ip").and_then(|ip| ip.trim().parse::<IpAddr>().ok()),
        user_agent: header(req, "user-agent"),
        accept_language: header(req, "accept-language"),
        client_hints: HintHeaders::from_lookup(|name| header(req, name)),
        dnt: header(req, "dnt").is_some_and(|v| v.trim() == "1"),
        country: cf_field("country"),
        region: cf_field("region"),
        city: cf_field("city"),
        latitude: coordinate("latitude"),
        longitude: coordinate("longitude"),
    }
}

fn to_response(answer: Answer) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &answer.headers {
        headers.set(name, value)?;
    }
    // A 204 or 304 must not have a body, not even an empty one.
    let response = if answer.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(answer.body.into_owned())?
    };
    Ok(response.with_status(answer.status).with_headers(headers))
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let method = Method::parse(&req.inner().method());
    let origin = header(&req, "origin");
    let answer = match serve(&mut req, &env, &ctx, method, origin.as_deref()).await {
        Ok(answer) => answer,
        Err(err) => {
            log(
                Level::Error,
                "internal error; beacon answered anyway",
                &[("error", Value::from(err.to_string()))],
            );
            beacon::fallback(method, origin.as_deref())
        }
    };
    match to_response(answer) {
        Ok(response) => Ok(response),
        Err(err) => {
            log(
                Level::Error,
                "could not build the response",
                &[("error", Value::from(err.to_string()))],
            );
            to_response(beacon::fallback(method, origin.as_deref()))
        }
    }
}

async fn serve(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    method: Method,
    origin: Option<&str>,
) -> worker::Result<Answer> {
    let config = read_config(env);
    let url = req.inner().url();
    let (path, query) = beacon::split_url(&url);
    Ok(match beacon::route(path, &config) {
        Route::NotFound => beacon::not_found(),
        Route::Script(build) => Answer::script(build, header(req, "if-none-match").as_deref()),
        Route::Tracking => {
            let body = if method == Method::Post {
                match req.bytes().await {
                    Ok(body) => body,
                    Err(err) => {
                        log(
                            Level::Warn,
                            "could not read the request body",
                            &[("error", Value::from(err.to_string()))],
                        );
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            let preflight = header(req, "access-control-request-method").is_some()
                || header(req, "access-control-request-headers").is_some();
            let visitor = visitor(req);
            let now_ms = now_ms();
            let mut new_id = || request_id(now_ms);
            let outcome = beacon::handle(
                &Beacon {
                    method,
                    query,
                    body: &body,
                    origin,
                    preflight,
                },
                &config,
                Enrichment {
                    visitor: &visitor,
                    now_ms,
                    new_id: &mut new_id,
                },
            );
            if !outcome.requests.is_empty() {
                let env = env.clone();
                ctx.wait_until(forward(env, config, outcome.requests));
            }
            outcome.answer
        }
    })
}

/// Queues the requests, or without a Queue binding posts them directly (best-effort).
async fn forward(env: Env, config: EdgeConfig, requests: Vec<EdgeRequest>) {
    let Some(queue) = binding(&env, config::QUEUE_BINDING) else {
        if !DIRECT_MODE_WARNED.swap(true, Ordering::Relaxed) {
            log(
                Level::Warn,
                "no Queue binding: forwarding directly to the origin; this mode is best-effort (a failed POST loses its beacons)",
                &[("binding", Value::from(config::QUEUE_BINDING))],
            );
        }
        let count = requests.len();
        match post_batch(&config, requests).await {
            Ok(status) if delivery::disposition(Some(status)) == Disposition::Ack => {}
            Ok(status) => log(
                Level::Error,
                "direct forward refused; beacons lost",
                &[
                    ("status", Value::from(status)),
                    ("requests", Value::from(count)),
                ],
            ),
            Err(err) => log(
                Level::Error,
                "direct forward failed; beacons lost",
                &[
                    ("error", Value::from(err)),
                    ("requests", Value::from(count)),
                ],
            ),
        }
        return;
    };
    let count = requests.len();
    if let Err(err) = send_messages(&queue, requests.into_iter().map(delivery::queue_message)).await
    {
        log(
            Level::Error,
            "could not queue beacons; they are lost",
            &[
                ("error", Value::from(err)),
                ("requests", Value::from(count)),
            ],
        );
    }
}

/// Sends byte messages to a queue, at most [`MAX_SEND_BATCH`] per call.
async fn send_messages(queue: &Queue, bodies: impl Iterator<Item = Vec<u8>>) -> Result<(), String> {
    let bodies: Vec<Vec<u8>> = bodies.collect();
    for chunk in bodies.chunks(MAX_SEND_BATCH) {
        let messages = Array::new();
        for body in chunk {
            let message = Object::new();
            let set = |k: &str, v: &JsValue| Reflect::set(&message, &JsValue::from_str(k), v);
            set("body", &Uint8Array::from(body.as_slice()).into())
                .map_err(|e| js_error_text(&e))?;
            // v8 (structured clone) carries a Uint8Array as is.
            set("contentType", &JsValue::from_str("v8")).map_err(|e| js_error_text(&e))?;
            messages.push(&message);
        }
        let queue_js: &JsValue = queue.as_ref();
        let send_batch = Reflect::get(queue_js, &JsValue::from_str("sendBatch"))
            .map_err(|e| js_error_text(&e))?
            .dyn_into::<js_sys::Function>()
            .map_err(|_| "the queue binding has no sendBatch".to_owned())?;
        let promise = send_batch
            .call1(queue_js, &messages)
            .map_err(|e| js_error_text(&e))?
            .dyn_into::<js_sys::Promise>()
            .map_err(|_| "sendBatch did not return a promise".to_owned())?;
        worker::wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|e| js_error_text(&e))?;
    }
    Ok(())
}

/// POSTs one signed batch to the origin; the status, or an error text for a network failure or
/// a missing setting.
async fn post_batch(config: &EdgeConfig, items: Vec<EdgeRequest>) -> Result<u16, String> {
    let url = config
        .ingest_url()
        .ok_or_else(|| format!("{} is not set", config::ORIGIN_URL))?;
    let secret = config
        .ingest_secret
        .as_deref()
        .ok_or_else(|| format!("{} is not set", config::INGEST_SECRET))?;
    let signed = delivery::sign_batch(secret, now_ms(), items);
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("content-type", "application/octet-stream")?;
    set(batch::TIMESTAMP_HEADER, &signed.timestamp)?;
    set(batch::SIGNATURE_HEADER, &signed.signature)?;
    let mut init = RequestInit::new();
    init.with_method(WorkerMethod::Post)
        .with_headers(headers)
        .with_body(Some(Uint8Array::from(signed.body.as_slice()).into()));
    let request = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
    let response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status_code())
}

#[wasm_bindgen]
extern "C" {
    /// A queue message, with the `attempts` count that `worker::Message` does not expose.
    #[wasm_bindgen(extends = js_sys::Object)]
    type QueueMessage;
    #[wasm_bindgen(method, getter)]
    fn body(this: &QueueMessage) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn attempts(this: &QueueMessage) -> JsValue;
    #[wasm_bindgen(method, catch)]
    fn ack(this: &QueueMessage) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn retry(this: &QueueMessage, options: &JsValue) -> Result<(), JsValue>;

    /// The batch handed to the consumer.
    #[wasm_bindgen(extends = js_sys::Object)]
    type QueueBatch;
    #[wasm_bindgen(method, getter)]
    fn messages(this: &QueueBatch) -> JsValue;
}

/// The queue consumer, exported by hand instead of `#[event(queue)]`: that macro panics when the
/// handler returns an error and hides each message's `attempts`, which the backoff needs.
#[wasm_bindgen(js_name = queue, wasm_bindgen_futures = worker::wasm_bindgen_futures)]
#[allow(unreachable_pub)] // wasm-bindgen exports only `pub` functions
pub async fn queue_handler(batch: JsValue, env: Env, _ctx: JsValue) -> Result<JsValue, JsValue> {
    consume(batch.unchecked_into::<QueueBatch>(), env).await;
    Ok(JsValue::UNDEFINED)
}

fn message_bytes(message: &QueueMessage) -> Option<Vec<u8>> {
    message
        .body()
        .dyn_into::<Uint8Array>()
        .ok()
        .map(|array| array.to_vec())
}

fn retry_later(message: &QueueMessage) {
    let attempts = message
        .attempts()
        .as_f64()
        .unwrap_or(1.0)
        .clamp(0.0, 1000.0) as u32;
    let options = Object::new();
    let delay = JsValue::from(delivery::backoff_seconds(attempts));
    let _ = Reflect::set(&options, &JsValue::from_str("delaySeconds"), &delay);
    if let Err(err) = message.retry(&options) {
        log(
            Level::Error,
            "could not mark a message for retry",
            &[("error", Value::from(js_error_text(&err)))],
        );
    }
}

fn ack(message: &QueueMessage) {
    if let Err(err) = message.ack() {
        log(
            Level::Error,
            "could not acknowledge a message",
            &[("error", Value::from(js_error_text(&err)))],
        );
    }
}

/// Moves messages to the dead-letter queue now; those that cannot be moved are retried, so the
/// queue's own `dead_letter_queue` catches them after `max_retries`.
async fn dead_letter(env: &Env, messages: &[(QueueMessage, Vec<u8>)]) {
    let sent = match binding(env, config::DEAD_LETTER_BINDING) {
        Some(dlq) => send_messages(&dlq, messages.iter().map(|(_, b)| b.clone())).await,
        None => Err(format!("no {} binding", config::DEAD_LETTER_BINDING)),
    };
    match sent {
        Ok(()) => messages.iter().for_each(|(m, _)| ack(m)),
        Err(err) => {
            log(
                Level::Error,
                "could not dead-letter messages; retrying them",
                &[("error", Value::from(err))],
            );
            messages.iter().for_each(|(m, _)| retry_later(m));
        }
    }
}

async fn consume(batch: QueueBatch, env: Env) {
    let config = read_config(&env);
    let list = batch.messages().dyn_into::<Array>().unwrap_or_default();
    let mut held = Vec::with_capacity(list.length() as usize);
    let mut items = Vec::new();
    let mut unreadable = Vec::new();
    for value in list.iter() {
        let message = value.unchecked_into::<QueueMessage>();
        let bytes = message_bytes(&message).unwrap_or_default();
        match delivery::from_queue_message(&bytes) {
            Some(requests) => {
                items.extend(requests);
                held.push((message, bytes));
            }
            None => unreadable.push((message, bytes)),
        }
    }
    if !unreadable.is_empty() {
        log(
            Level::Error,
            "unreadable queue messages sent to the dead-letter queue",
            &[("messages", Value::from(unreadable.len()))],
        );
        dead_letter(&env, &unreadable).await;
    }
    if items.is_empty() {
        return;
    }
    let count = items.len();
    let result = post_batch(&config, items).await;
    let status = result.as_ref().ok().copied();
    match delivery::disposition(status) {
        Disposition::Ack => held.iter().for_each(|(m, _)| ack(m)),
        Disposition::Retry => {
            let detail = match &result {
                Ok(status) => Value::from(*status),
                Err(err) => Value::from(err.as_str()),
            };
            log(
                Level::Warn,
                "origin unavailable; batch will be retried",
                &[("detail", detail), ("requests", Value::from(count))],
            );
            held.iter().for_each(|(m, _)| retry_later(m));
        }
        Disposition::DeadLetter => {
            log(
                Level::Error,
                "origin refused the batch; sent to the dead-letter queue",
                &[
                    ("status", Value::from(status.unwrap_or_default())),
                    ("requests", Value::from(count)),
                ],
            );
            dead_letter(&env, &held).await;
        }
    }
}
