//! The inputs of one configuration, each in a slot: the native topics by role (slots 0–3, in
//! [`TopicRole::ALL`] order), then every `[[inputs]]` topic in config order, then the repartition
//! topic when any input is not keyed by incident. A record carries its input's slot; the
//! pipeline reads the slot's decoder and counts its health there.

use super::TopicRole;
use crate::config::Config;
use crate::formats::{Decoder, Format};

/// One input topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub topic: String,
    pub decoder: Decoder,
    /// Its records reach the state directly: keyed by incident id and partitioned like the
    /// state. False: its events go through the repartition topic first.
    pub keyed: bool,
    /// Read by every instance whole, outside the consumer group (inventory, telemetry).
    pub global: bool,
}

/// Every input of a configuration, by slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inputs {
    inputs: Vec<Input>,
    repartition: Option<u16>,
}

impl Inputs {
    pub fn of(config: &Config) -> Self {
        let mut inputs: Vec<Input> = TopicRole::ALL
            .into_iter()
            .map(|role| Input {
                topic: role.topic(config).to_owned(),
                decoder: Decoder::Native(role),
                keyed: true,
                global: matches!(role, TopicRole::Inventory | TopicRole::Telemetry),
            })
            .collect();
        inputs.extend(config.inputs.iter().map(|input| Input {
            topic: input.topic.clone(),
            decoder: Decoder::of_input(input.format),
            keyed: input.keyed_by_incident,
            global: false,
        }));
        let repartition = config.repartitions().then(|| {
            inputs.push(Input {
                topic: config.repartition_topic(),
                decoder: Decoder::NativeAny,
                keyed: true,
                global: false,
            });
            slot(inputs.len() - 1)
        });
        Self {
            inputs,
            repartition,
        }
    }

    /// The slot of a topic; `None` for a topic no input names.
    pub fn slot(&self, topic: &str) -> Option<u16> {
        self.inputs
            .iter()
            .position(|input| input.topic == topic)
            .map(slot)
    }

    pub fn get(&self, slot: u16) -> &Input {
        &self.inputs[usize::from(slot).min(self.inputs.len() - 1)]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Input> {
        self.inputs.iter()
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The repartition topic's slot, when an input needs it.
    pub fn repartition(&self) -> Option<u16> {
        self.repartition
    }

    /// Whether a topic's partitions are state partitions (its records keyed by incident).
    pub fn keyed(&self, topic: &str) -> bool {
        self.inputs
            .iter()
            .any(|input| input.topic == topic && input.keyed && !input.global)
    }

    /// The topics the consumer group reads: every input but the global ones.
    pub fn group_topics(&self) -> Vec<&str> {
        self.inputs
            .iter()
            .filter(|input| !input.global)
            .map(|input| input.topic.as_str())
            .collect()
    }

    /// The vendor formats configured, for the startup line and `check-config`.
    pub fn formats(&self) -> Vec<Format> {
        let mut formats: Vec<Format> = self
            .inputs
            .iter()
            .filter_map(|input| match input.decoder {
                Decoder::Vendor(format) => Some(format),
                _ => None,
            })
            .collect();
        formats.sort_unstable();
        formats.dedup();
        formats
    }
}

fn slot(index: usize) -> u16 {
    u16::try_from(index).unwrap_or(u16::MAX)
}
