//! Configuration text (TOML) through `Config::from_toml`, the parse and every value check the
//! daemon runs at start. A configuration it accepts must print (`to_redacted_toml`, what
//! `check-config` shows) and parse back to itself, and a pipeline must run on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socmetrics::config::Config;
use socmetrics::pipeline::Pipeline;
use socmetrics::source::{Record, TopicRole};
use socmetrics_fuzz::WALL;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml(text) else {
        return;
    };
    let _ = config.listen_addr();
    let _ = config.state_topic();
    let _ = config.to_redacted_toml();
    // Unredacted, unlike `to_redacted_toml`: the secrets must read back too.
    let printed = toml::to_string(&config).expect("an accepted config prints");
    match Config::from_toml(&printed) {
        Ok(again) => assert_eq!(
            again, config,
            "printed config reads back different:\n{printed}"
        ),
        Err(e) => panic!("accepted config does not read back: {e}\n{printed}"),
    }
    let mut pipeline = Pipeline::new(&config);
    pipeline.make_durable();
    let alert = br#"{"alert_id":"a","incident_id":"I","detected_at":1796150000000,"source":"edr","severity":"high"}"#;
    let case = br#"{"incident_id":"I","at":1796153000000,"status":"resolved","disposition":"true_positive"}"#;
    let records = [
        Record::new(&config.topics.alerts, TopicRole::Alerts, 0, Some(alert)),
        Record::new(&config.topics.cases, TopicRole::Cases, 0, Some(case)),
    ];
    let _ = pipeline.apply_batch(&records, WALL);
    let _ = pipeline.expire(WALL);
    let _ = pipeline.fresh_snapshot(WALL).scorecard.series();
});
