//! Every format's decoder (`Format::ALL`, so each vendor adapter is fuzzed as it lands) on the
//! same bytes, through both entry points: `formats::decode`, the pipeline's (native once per
//! topic role), and `formats::convert::convert`, what `socmetrics convert` prints. Beyond "no
//! panic" it checks what the formats module promises: no accepted event time is before the
//! epoch or past the clock bound, and a native alert or case event written by `encode` decodes
//! back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socmetrics::event::{Event, EventTime};
use socmetrics::formats::{self, Decoder, Format, convert::convert, encode, native};
use socmetrics::source::{Record, TopicRole};
use socmetrics_fuzz::{LIMITS, WALL};

fuzz_target!(|data: &[u8]| {
    let not_after = WALL;
    for format in Format::ALL {
        let decoders: Vec<Decoder> = match format {
            Format::Native => TopicRole::ALL
                .into_iter()
                .map(Decoder::Native)
                .chain([Decoder::NativeAny])
                .collect(),
            vendor => vec![Decoder::Vendor(vendor)],
        };
        for decoder in decoders {
            let record = Record::new("topic", TopicRole::Alerts, 0, Some(data));
            if let Ok(events) = formats::decode(decoder, &record, LIMITS, not_after) {
                for event in &events {
                    check(format, event, not_after);
                }
            }
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let lines = convert(format, text, LIMITS);
            assert!(!lines.is_empty(), "{format}: convert printed nothing");
        }
    }
});

fn check(format: Format, event: &Event<'_>, not_after: EventTime) {
    for (field, at) in event.times() {
        assert!(
            (0..=not_after.millis()).contains(&at.millis()),
            "{format}: `{field}` {at:?} accepted outside [epoch, clock bound]"
        );
    }
    if matches!(event, Event::Alert(_) | Event::Case(_)) {
        let line = encode::to_line(event);
        let again = native::decode_any(&line)
            .unwrap_or_else(|r| panic!("{format}: encoded event {line} rejected: {r}"));
        assert_eq!(
            encode::to_line(&again),
            line,
            "{format}: round trip changed the event"
        );
    }
}
