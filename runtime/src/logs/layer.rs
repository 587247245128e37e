//! The `tracing` layer that writes the JSON lines.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use smallvec::SmallVec;
use tracing_core::callsite::Identifier;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, LookupSpan, Registry, SpanRef};

use super::fields::{
    kept_in_span, logged_in_span, plan_fields, upsert, FieldKind, FieldList, FieldPlan,
    FieldVisitor, SpanFields,
};
use super::{OBSERVED_SPAN_FIELD, REQUEST_SPAN_FIELD};
use crate::loss::{lines_lost, LineLoss};
use crate::redact::Redactor;
use crate::warn::{warn_on_stderr, RateLimited};

/// How often a failing writer may print a warning to standard error.
const WRITE_WARNING_INTERVAL_MS: u64 = 10_000;

/// Writes every event as one JSON object per line to `writer`, with the fields of the event and of its
/// enclosing spans, redacted by a [`Redactor`].
///
/// Each line is handed to the writer in a single `write_all` call, so writers shared between threads do
/// not interleave lines. A writer error never reaches the application: it is counted (see
/// [`LogLayer::write_errors`]) and reported on standard error at most once every ten seconds.
pub(crate) struct LogLayer<W> {
    /// `,"service":"<name>"`, serialized once.
    service_entry: Vec<u8>,
    redactor: Arc<Redactor>,
    make_writer: W,
    plans: RwLock<HashMap<Identifier, Arc<[FieldPlan]>, BuildHasherDefault<CallsiteHasher>>>,
    write_errors: AtomicU64,
    write_warning: RateLimited,
    span_summaries: bool,
}

impl<W> LogLayer<W>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    /// A layer writing lines for `service` to `writer`, redacting with `redactor` (the builder shares
    /// one redactor with the trace export: [`LogLayer::with_shared`]).
    #[cfg(test)]
    pub(crate) fn new(service: impl Into<String>, redactor: Redactor, writer: W) -> Self {
        Self::with_shared(service, Arc::new(redactor), writer)
    }

    /// [`LogLayer::new`] with a redactor shared with the rest of the installation.
    pub(crate) fn with_shared(
        service: impl Into<String>,
        redactor: Arc<Redactor>,
        writer: W,
    ) -> Self {
        LogLayer {
            service_entry: service_entry(&service.into()),
            redactor,
            make_writer: writer,
            plans: RwLock::new(HashMap::default()),
            write_errors: AtomicU64::new(0),
            write_warning: RateLimited::new(WRITE_WARNING_INTERVAL_MS),
            span_summaries: false,
        }
    }

    /// With no collector to send spans to, a `debug` line (target `sightline::spans`) summarises each
    /// completed span: name, ids, parent, duration and status, so traces are visible in the log alone.
    pub(crate) fn with_span_summaries(mut self, on: bool) -> Self {
        self.span_summaries = on;
        self
    }

    /// How many lines the writer failed to take so far.
    #[cfg(test)]
    pub(crate) fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    fn plan(&self, metadata: &'static Metadata<'static>) -> Arc<[FieldPlan]> {
        let callsite = metadata.callsite();
        if let Some(plan) = self
            .plans
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&callsite)
        {
            return Arc::clone(plan);
        }
        let plan = plan_fields(&self.redactor, metadata);
        Arc::clone(
            self.plans
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(callsite)
                .or_insert(plan),
        )
    }

    /// Records span fields into a fresh list, then merges it under the extensions lock: visiting runs the
    /// application's `Debug` impls, which may log themselves, and must not do so with the lock held.
    fn record_span_fields<S>(
        &self,
        span: &SpanRef<'_, S>,
        metadata: &'static Metadata<'static>,
        record: impl FnOnce(&mut FieldVisitor<'_>),
    ) where
        S: for<'a> LookupSpan<'a>,
    {
        let plan = self.plan(metadata);
        let mut fields = FieldList::new();
        record(&mut FieldVisitor::new(
            &self.redactor,
            metadata.callsite(),
            &plan,
            FieldKind::Span,
            &mut fields,
        ));
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            // A status or another OpenTelemetry-only field: nothing for the log lines.
            Some(_) if fields.is_empty() => {}
            Some(existing) => {
                for (key, value) in fields {
                    upsert(&mut existing.fields, key, value);
                }
            }
            None => {
                let observed = is_sightline_span(metadata);
                extensions.insert(SpanFields {
                    fields,
                    redactor: observed.then(|| Arc::clone(&self.redactor)),
                });
            }
        }
    }

    fn format_line(
        &self,
        metadata: &Metadata<'_>,
        event: &FieldList,
        spans: &[&FieldList],
        ids: Option<&crate::traces::OtelIds>,
    ) -> Vec<u8> {
        let mut line = Vec::with_capacity(256);
        line.extend_from_slice(b"{\"timestamp\":\"");
        push_timestamp(&mut line);
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(level_name(metadata.level()).as_bytes());
        line.push(b'"');
        line.extend_from_slice(&self.service_entry);
        line.extend_from_slice(b",\"target\":");
        push_json(&mut line, metadata.target());
        if let Some((_, message)) = event.iter().find(|(key, _)| key == "message") {
            push_entry(&mut line, "message", message);
        }
        let own_ids = event.iter().any(|(key, _)| key == "trace_id");
        if let Some(ids) = ids.filter(|_| !own_ids) {
            line.extend_from_slice(b",\"trace_id\":\"");
            push_hex(&mut line, &ids.trace_id_bytes());
            line.extend_from_slice(b"\",\"span_id\":\"");
            push_hex(&mut line, &ids.span_id_bytes());
            line.push(b'"');
        }
        for (key, value) in event {
            if key != "message" {
                push_entry(&mut line, key, value);
            }
        }
        for (depth, fields) in spans.iter().enumerate() {
            for (key, value) in fields.iter() {
                let shadowed = event.iter().any(|(k, _)| k == key)
                    || spans[depth + 1..]
                        .iter()
                        .any(|inner| inner.iter().any(|(k, _)| k == key));
                if !shadowed {
                    push_entry(&mut line, key, value);
                }
            }
        }
        line.extend_from_slice(b"}\n");
        line
    }

    fn write_line(&self, metadata: &Metadata<'_>, line: &[u8]) {
        let mut writer = self.make_writer.make_writer_for(metadata);
        if let Err(error) = writer.write_all(line) {
            let failed = self.write_errors.fetch_add(1, Ordering::Relaxed) + 1;
            lines_lost(LineLoss::WriteFailed, 1);
            warn_on_stderr(
                &self.write_warning,
                format_args!("could not write a log line ({failed} lost so far): {error}"),
            );
        }
    }
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.record_span_fields(&span, attrs.metadata(), |visitor| attrs.record(visitor));
            if self.span_summaries && summaries_enabled() {
                let mut timing = SpanTiming::new();
                attrs.record(&mut timing);
                span.extensions_mut().replace(timing);
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            // A status recorded at the end of every call is for OpenTelemetry only: with nothing the lines
            // carry and no summary to write, the span's fields are not touched.
            let plan = self.plan(span.metadata());
            let logged = span
                .metadata()
                .fields()
                .iter()
                .any(|f| values.contains(&f) && logged_in_span(&plan, f.index()));
            if !logged && !self.span_summaries {
                return;
            }
            self.record_span_fields(&span, span.metadata(), |visitor| values.record(visitor));
            if self.span_summaries {
                if let Some(timing) = span.extensions_mut().get_mut::<SpanTiming>() {
                    values.record(timing);
                }
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if !self.span_summaries || !summaries_enabled() {
            return;
        }
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let (timing, ids) = {
            let extensions = span.extensions();
            (
                extensions.get::<SpanTiming>().cloned(),
                crate::traces::span_ids(&extensions),
            )
        };
        let (Some(timing), Some(ids)) = (timing, ids) else {
            return;
        };
        // Emitted as an event of its own (no parent: the closing span's fields are not the summary's), so
        // the level filter and the writer treat it like any other line.
        tracing::event!(
            target: SUMMARY_TARGET,
            parent: None,
            tracing::Level::DEBUG,
            span.name = timing.name.as_deref().unwrap_or(span.name()),
            trace_id = ids.trace_id.as_str(),
            span_id = ids.span_id.as_str(),
            parent_span_id = ids.parent_span_id.as_deref(),
            duration_ms = timing.start.elapsed().as_micros() as f64 / 1000.0,
            status = timing.status.as_deref().unwrap_or("UNSET"),
            status_description = timing.description.as_deref(),
            "span completed"
        );
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let plan = self.plan(metadata);
        let mut fields = FieldList::new();
        event.record(&mut FieldVisitor::new(
            &self.redactor,
            metadata.callsite(),
            &plan,
            FieldKind::Event,
            &mut fields,
        ));

        let mut spans: SmallVec<[SpanRef<'_, S>; 8]> = match ctx.event_scope(event) {
            Some(scope) => scope.collect(),
            None => SmallVec::new(),
        };
        spans.reverse();
        // The line is built while the spans' extensions are read-locked and written after they are
        // released: a writer that logs must not find them locked.
        let line = {
            let extensions: SmallVec<[Extensions<'_>; 8]> =
                spans.iter().map(|span| span.extensions()).collect();
            let span_fields: SmallVec<[&FieldList; 8]> = extensions
                .iter()
                .filter_map(|extensions| extensions.get::<SpanFields>())
                .map(|span| &span.fields)
                .collect();
            // The innermost span with OpenTelemetry ids (spans are ordered root first).
            let ids = extensions.iter().rev().find_map(crate::traces::raw_ids);
            self.format_line(metadata, &fields, &span_fields, ids.as_ref())
        };
        self.write_line(metadata, &line);
    }
}

/// The target of span summaries, for filters: `LOG_LEVEL=info,sightline::spans=debug`.
const SUMMARY_TARGET: &str = "sightline::spans";

/// Whether a summary line would be written (decided once per callsite by the filters, so cheap).
fn summaries_enabled() -> bool {
    tracing::enabled!(target: SUMMARY_TARGET, tracing::Level::DEBUG)
}

/// When a span started and the status it recorded, for its summary.
#[derive(Clone)]
struct SpanTiming {
    start: std::time::Instant,
    /// `otel.name`, the span's name when it is set (a method's `Type::method`, the HTTP layer's route).
    name: Option<String>,
    status: Option<String>,
    description: Option<String>,
}

impl SpanTiming {
    fn new() -> Self {
        SpanTiming {
            start: std::time::Instant::now(),
            name: None,
            status: None,
            description: None,
        }
    }
}

impl tracing_core::field::Visit for SpanTiming {
    fn record_str(&mut self, field: &tracing_core::Field, value: &str) {
        match field.name() {
            "otel.name" => self.name = Some(value.to_owned()),
            "otel.status_code" => self.status = Some(value.to_owned()),
            "otel.status_description" => self.description = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing_core::Field, value: &dyn std::fmt::Debug) {
        if matches!(
            field.name(),
            "otel.name" | "otel.status_code" | "otel.status_description"
        ) {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

/// Adds `key = value` to every enclosing span that sightline created (observed calls and the HTTP layer's
/// request), so it appears on every later log line inside them, including their completion and access
/// lines, and on their exported spans. The value is redacted like any field, with the redactor of the
/// layer that captured the span.
///
/// Returns false when there is no such span, when the current subscriber is not built on
/// [`tracing_subscriber::Registry`], or when no [`LogLayer`] saw the span (none is installed, or its filter
/// disabled the span), since the value could then appear nowhere. A key the layer never writes for spans
/// (`level`, `otel.name`, ... ) is ignored, and the call still returns true.
pub(crate) fn record_on_observed_span(key: &str, value: Value) -> bool {
    tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<Registry>() else {
            return false;
        };
        let Some(current) = registry
            .current_span()
            .id()
            .and_then(|id| registry.span(id))
        else {
            return false;
        };
        // Every enclosing sightline span: the innermost call's completion line, the calls around it, and
        // the request's access line all carry a value learnt mid-request (a user after authentication).
        let mut recorded = false;
        for span in current.scope().filter(|s| is_sightline_span(s.metadata())) {
            let redactor = match span.extensions().get::<SpanFields>() {
                Some(fields) => fields.redactor.clone(),
                None => continue,
            };
            recorded = true;
            if !kept_in_span(key) {
                continue;
            }
            let mut value = value.clone();
            match &redactor {
                Some(redactor) => redactor.redact_value(key, &mut value),
                None => Redactor::default().redact_value(key, &mut value),
            }
            let for_traces = value.clone();
            {
                let mut extensions = span.extensions_mut();
                let Some(fields) = extensions.get_mut::<SpanFields>() else {
                    continue;
                };
                upsert(&mut fields.fields, Cow::Owned(key.to_owned()), value);
            }
            // With the extensions released: tracing-opentelemetry locks them.
            crate::traces::set_attribute_by_id(dispatch, &span.id(), key, for_traces);
        }
        recorded
    })
}

/// `,"service":"<name>"`.
fn service_entry(service: &str) -> Vec<u8> {
    let mut entry = b",\"service\":".to_vec();
    push_json(&mut entry, service);
    entry
}

/// One of sightline's own warnings as a log line: target `sightline`, level `warn`, the message redacted
/// like any message (an exporter's error can quote a URL with its password), and how many similar
/// warnings were suppressed before it.
pub(crate) fn warning_line(
    service: &str,
    redactor: &Redactor,
    message: &str,
    suppressed: u64,
) -> Vec<u8> {
    let message = redactor
        .redact_text(message, crate::redact::TextKind::Message)
        .map_or(Cow::Borrowed(message), Cow::Owned);
    let mut line = Vec::with_capacity(128 + message.len());
    line.extend_from_slice(b"{\"timestamp\":\"");
    push_timestamp(&mut line);
    line.extend_from_slice(b"\",\"level\":\"warn\"");
    line.extend_from_slice(&service_entry(service));
    line.extend_from_slice(b",\"target\":\"sightline\",\"message\":");
    push_json(&mut line, &message);
    if suppressed > 0 {
        let _ = write!(line, ",\"suppressed\":{suppressed}");
    }
    line.extend_from_slice(b"}\n");
    line
}

/// Spans sightline creates: observed calls (they declare `code.function`) and HTTP requests (they
/// declare `request_id`).
pub(crate) fn is_sightline_span(metadata: &Metadata<'_>) -> bool {
    let fields = metadata.fields();
    fields.field(OBSERVED_SPAN_FIELD).is_some() || fields.field(REQUEST_SPAN_FIELD).is_some()
}

fn level_name(level: &Level) -> &'static str {
    if *level == Level::ERROR {
        "error"
    } else if *level == Level::WARN {
        "warn"
    } else if *level == Level::INFO {
        "info"
    } else if *level == Level::DEBUG {
        "debug"
    } else {
        "trace"
    }
}

/// RFC 3339 UTC with milliseconds. A clock before 1970 writes 1970, one after 9999 writes 9999: a wrong
/// system clock must not take the process down or break the line's shape.
fn push_timestamp(line: &mut Vec<u8>) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    push_rfc3339_millis(line, since_epoch.as_secs(), since_epoch.subsec_millis());
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a time in seconds since 1970; after 9999 it stays at the last
/// millisecond of 9999, so the field keeps its shape whatever the clock says.
fn push_rfc3339_millis(line: &mut Vec<u8>, secs: u64, millis: u32) {
    const LATEST: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let (secs, millis) = if secs > LATEST {
        (LATEST, 999)
    } else {
        (secs, millis)
    };
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil: exact for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (0..width).rev() {
            text[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3_600);
    put(14, 2, rem % 3_600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, u64::from(millis));
    line.extend_from_slice(&text);
}

/// Lower-case hex, as Jaeger and `traceparent` write ids.
fn push_hex(line: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    for (pair, b) in text.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    line.extend_from_slice(&text[..bytes.len().min(16) * 2]);
}

/// Hashes a callsite `Identifier` (a pointer, unique per callsite) with one multiply instead of SipHash:
/// the keys are addresses fixed at compile time, not input an attacker chooses.
#[derive(Default)]
struct CallsiteHasher(u64);

impl Hasher for CallsiteHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_ne_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

// Serializing a string or a `Value` into a `Vec` cannot fail (map keys are strings, numbers are finite),
// and serde_json escapes quotes, newlines and control characters, so every line stays one JSON object.
fn push_json(line: &mut Vec<u8>, text: &str) {
    // Field names and most values need no escaping: copied as they are.
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        line.push(b'"');
        line.extend_from_slice(text.as_bytes());
        line.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *line, text);
    }
}

fn push_entry(line: &mut Vec<u8>, key: &str, value: &Value) {
    line.push(b',');
    push_json(line, key);
    line.push(b':');
    match value {
        Value::String(text) => push_json(line, text),
        Value::Number(n) => {
            let _ = write!(line, "{n}");
        }
        Value::Bool(b) => line.extend_from_slice(if *b { b"true" } else { b"false" }),
        _ => {
            let _ = serde_json::to_writer(&mut *line, value);
        }
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::push_rfc3339_millis;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn matches_humantime_across_leap_years_and_clamps_after_9999() {
        for secs in [
            0u64,
            951_782_400,   // 2000-02-29
            1_709_164_800, // 2024-02-29
            1_735_689_599, // 2024-12-31T23:59:59
            4_107_542_400, // 2100-03-01
            253_402_300_799,
        ] {
            for millis in [0u32, 7, 999] {
                let mut line = Vec::new();
                push_rfc3339_millis(&mut line, secs, millis);
                let time =
                    UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis.into());
                let expected = humantime::format_rfc3339_millis(time).to_string();
                assert_eq!(String::from_utf8(line).unwrap(), expected, "{secs}");
            }
        }
        let mut line = Vec::new();
        push_rfc3339_millis(&mut line, u64::MAX, 5);
        assert_eq!(line, b"9999-12-31T23:59:59.999Z");
    }
}
