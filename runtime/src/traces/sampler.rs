//! `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, parsed here rather than by the SDK (whose reading of
//! the environment has changed between versions), so the accepted values and the fallback are ours.

use super::settings::InvalidSetting;

/// The sampler variable.
pub(crate) const SAMPLER_VAR: &str = "OTEL_TRACES_SAMPLER";
/// Its argument (the ratio of the `*traceidratio` samplers).
pub(crate) const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";

/// Which sampler to build.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SamplerChoice {
    AlwaysOn,
    AlwaysOff,
    /// A fraction of traces in `0.0..=1.0`, chosen by trace id.
    TraceIdRatio(f64),
    /// The parent's decision when there is a parent, else the inner sampler's.
    ParentBased(Box<SamplerChoice>),
}

impl SamplerChoice {
    /// Whether a span of trace `trace_id` is sampled, given its parent's decision (`None` for a root), as
    /// the SDK decides it; for the ids sightline gives spans itself when nothing is exported.
    pub(crate) fn samples(&self, trace_id: u128, parent: Option<bool>) -> bool {
        match self {
            SamplerChoice::AlwaysOn => true,
            SamplerChoice::AlwaysOff => false,
            SamplerChoice::TraceIdRatio(ratio) if *ratio >= 1.0 => true,
            SamplerChoice::TraceIdRatio(ratio) => {
                // The SDK's rule: the trace id's low 63 bits under the ratio, so every service sampling
                // at the same ratio keeps the same traces.
                let low = (trace_id as u64) >> 1;
                low < (ratio.max(0.0) * (1u64 << 63) as f64) as u64
            }
            SamplerChoice::ParentBased(root) => match parent {
                Some(sampled) => sampled,
                None => root.samples(trace_id, None),
            },
        }
    }

    /// The OpenTelemetry default, `parentbased_always_on`.
    pub(crate) fn parent_based_always_on() -> Self {
        SamplerChoice::ParentBased(Box::new(SamplerChoice::AlwaysOn))
    }
}

/// The sampler named by `name` (the value of `OTEL_TRACES_SAMPLER`) with `arg` (`OTEL_TRACES_SAMPLER_ARG`),
/// or `default` when `name` is unset or blank. Names are read case-insensitively, as the specification asks
/// of enumerated environment values.
///
/// A value that cannot be used is an error naming the variable: an unknown sampler name, or a ratio
/// that is not a number in `0..=1`. (The specification lets an SDK warn and fall back; sightline refuses,
/// since a trace sampled at a ratio nobody chose is a quiet failure.) A missing ratio is not an error:
/// it means `1.0`. An argument given to a sampler that takes none is ignored, since operators often
/// leave it set while trying samplers.
pub(crate) fn parse_sampler(
    name: Option<&str>,
    arg: Option<&str>,
    default: SamplerChoice,
) -> Result<SamplerChoice, InvalidSetting> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(default);
    };
    let ratio = || parse_ratio(arg);
    Ok(match name.to_ascii_lowercase().as_str() {
        "always_on" => SamplerChoice::AlwaysOn,
        "always_off" => SamplerChoice::AlwaysOff,
        "traceidratio" => SamplerChoice::TraceIdRatio(ratio()?),
        "parentbased_always_on" => SamplerChoice::parent_based_always_on(),
        "parentbased_always_off" => SamplerChoice::ParentBased(Box::new(SamplerChoice::AlwaysOff)),
        "parentbased_traceidratio" => {
            SamplerChoice::ParentBased(Box::new(SamplerChoice::TraceIdRatio(ratio()?)))
        }
        _ => {
            return Err(InvalidSetting::new(
                SAMPLER_VAR,
                name,
                format!(
                    "not a sampler sightline supports: always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio (unset, \
                     it is {})",
                    describe(&default)
                ),
            ))
        }
    })
}

/// The ratio in `arg`: `1.0` when it is missing.
fn parse_ratio(arg: Option<&str>) -> Result<f64, InvalidSetting> {
    let Some(text) = arg.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(1.0);
    };
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(InvalidSetting::new(
            SAMPLER_ARG_VAR,
            text,
            "not a ratio between 0 and 1 (0.25 samples a quarter of the traces)",
        )),
    }
}

/// The environment name of a choice, for warnings.
fn describe(choice: &SamplerChoice) -> String {
    match choice {
        SamplerChoice::AlwaysOn => "always_on".to_owned(),
        SamplerChoice::AlwaysOff => "always_off".to_owned(),
        SamplerChoice::TraceIdRatio(r) => format!("traceidratio {r}"),
        SamplerChoice::ParentBased(root) => format!("parentbased_{}", describe(root)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(inner: SamplerChoice) -> SamplerChoice {
        SamplerChoice::ParentBased(Box::new(inner))
    }

    #[test]
    fn unset_or_blank_is_the_default() {
        let default = SamplerChoice::parent_based_always_on();
        assert_eq!(
            parse_sampler(None, None, default.clone()),
            Ok(default.clone())
        );
        assert_eq!(
            parse_sampler(Some("  "), Some("0.5"), default.clone()),
            Ok(default)
        );
        assert_eq!(
            parse_sampler(None, None, SamplerChoice::AlwaysOn),
            Ok(SamplerChoice::AlwaysOn)
        );
    }

    #[test]
    fn every_supported_name() {
        let d = || SamplerChoice::parent_based_always_on();
        let cases = [
            ("always_on", None, SamplerChoice::AlwaysOn),
            ("always_off", None, SamplerChoice::AlwaysOff),
            (
                "traceidratio",
                Some("0.25"),
                SamplerChoice::TraceIdRatio(0.25),
            ),
            (
                "parentbased_always_on",
                None,
                parent(SamplerChoice::AlwaysOn),
            ),
            (
                "parentbased_always_off",
                None,
                parent(SamplerChoice::AlwaysOff),
            ),
            (
                "parentbased_traceidratio",
                Some("0"),
                parent(SamplerChoice::TraceIdRatio(0.0)),
            ),
            // Case and surrounding blanks do not matter.
            (
                " TraceIdRatio ",
                Some(" 1 "),
                SamplerChoice::TraceIdRatio(1.0),
            ),
            // An argument to a sampler without one is ignored.
            ("always_off", Some("0.5"), SamplerChoice::AlwaysOff),
        ];
        for (name, arg, expected) in cases {
            assert_eq!(
                parse_sampler(Some(name), arg, d()),
                Ok(expected),
                "{name:?} {arg:?}"
            );
        }
    }

    #[test]
    fn a_missing_ratio_means_one() {
        assert_eq!(
            parse_sampler(Some("traceidratio"), None, SamplerChoice::AlwaysOn),
            Ok(SamplerChoice::TraceIdRatio(1.0))
        );
    }

    #[test]
    fn an_invalid_ratio_is_refused_by_name() {
        for arg in ["half", "1.5", "-0.1", "NaN"] {
            let error = parse_sampler(
                Some("parentbased_traceidratio"),
                Some(arg),
                SamplerChoice::AlwaysOn,
            )
            .unwrap_err();
            assert_eq!(error.name, SAMPLER_ARG_VAR);
            assert_eq!(error.value, arg);
        }
    }

    #[test]
    fn an_unknown_name_is_refused_by_name() {
        let error = parse_sampler(
            Some("jaeger_remote"),
            None,
            SamplerChoice::parent_based_always_on(),
        )
        .unwrap_err();
        assert_eq!(error.name, SAMPLER_VAR);
        assert_eq!(error.value, "jaeger_remote");
        assert!(error.reason.contains("parentbased_always_on"), "{error}");
    }

    /// Every service sampling at one ratio must keep the same traces: the decisions are the SDK's.
    #[test]
    fn ratio_decisions_are_the_sdks() {
        use opentelemetry::trace::{SpanKind, TraceId};
        use opentelemetry_sdk::trace::SamplingDecision;
        use opentelemetry_sdk::trace::{Sampler, ShouldSample};
        for ratio in [0.1, 0.5, 0.9] {
            let sdk = Sampler::TraceIdRatioBased(ratio);
            let ours = SamplerChoice::TraceIdRatio(ratio);
            for _ in 0..2_000 {
                let trace_id = fastrand::u128(1..);
                let result = sdk.should_sample(
                    None,
                    TraceId::from(trace_id),
                    "span",
                    &SpanKind::Internal,
                    &[],
                    &[],
                );
                let sdk_samples = result.decision == SamplingDecision::RecordAndSample;
                assert_eq!(
                    ours.samples(trace_id, None),
                    sdk_samples,
                    "{ratio} {trace_id:x}"
                );
            }
        }
    }
}

#[cfg(test)]
mod local_decision_tests {
    use super::SamplerChoice;

    #[test]
    fn local_decisions_follow_the_sdk_rules() {
        let on = SamplerChoice::AlwaysOn;
        let off = SamplerChoice::AlwaysOff;
        assert!(on.samples(1, Some(false)));
        assert!(!off.samples(1, Some(true)));
        let parent_based = SamplerChoice::parent_based_always_on();
        assert!(parent_based.samples(7, None));
        assert!(!parent_based.samples(7, Some(false)));
        // The ratio reads the low 63 bits of the trace id, like the SDK.
        let half = SamplerChoice::TraceIdRatio(0.5);
        assert!(half.samples(0, None));
        assert!(half.samples((1u128 << 63) - 2, None));
        assert!(!half.samples(1u128 << 63, None));
        assert!(!half.samples(u64::MAX as u128, None));
        assert!(SamplerChoice::TraceIdRatio(1.0).samples(u64::MAX as u128, None));
        assert!(!SamplerChoice::TraceIdRatio(0.0).samples(0, None));
        let kept = (0..10_000u128)
            .filter(|i| {
                half.samples(
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                    None,
                )
            })
            .count();
        assert!((4_000..6_000).contains(&kept), "{kept}");
    }
}
