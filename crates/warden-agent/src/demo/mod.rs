//! Warden's built-in demo agents: `echo`, `slow` and `input`.

mod echo;
mod input;
mod slow;

use std::sync::Arc;
use std::time::Duration;

use warden_a2a::types::{AgentCapabilities, AgentCard, AgentProvider, AgentSkill};

use crate::executor::AgentExecutor;

pub use echo::Echo;
pub use input::Input;
pub use slow::Slow;

/// The names `warden agent` and `warden up` accept.
pub const DEMO_NAMES: [&str; 3] = ["echo", "slow", "input"];

/// Options shared by the demo agents.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Pause between the `slow` agent's steps.
    pub step_interval: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            step_interval: Duration::from_millis(200),
        }
    }
}

/// A demo agent by name.
pub fn demo_agent(name: &str, options: DemoOptions) -> Option<Arc<dyn AgentExecutor>> {
    match name {
        "echo" => Some(Arc::new(Echo)),
        "slow" => Some(Arc::new(Slow {
            interval: options.step_interval,
        })),
        "input" => Some(Arc::new(Input)),
        _ => None,
    }
}

/// The common shape of the demo cards.
fn demo_card(name: &str, description: &str, skill: AgentSkill) -> AgentCard {
    AgentCard {
        name: name.to_string(),
        description: description.to_string(),
        supported_interfaces: Vec::new(),
        provider: Some(AgentProvider {
            url: "https://github.com/warden-a2a".into(),
            organization: "Warden demo agents".into(),
        }),
        version: env!("CARGO_PKG_VERSION").to_string(),
        documentation_url: None,
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(true),
            extensions: Vec::new(),
            extended_agent_card: Some(false),
        },
        security_schemes: Default::default(),
        security_requirements: Vec::new(),
        default_input_modes: vec!["text/plain".into()],
        default_output_modes: vec!["text/plain".into()],
        skills: vec![skill],
        signatures: Vec::new(),
        icon_url: None,
    }
}

fn skill(id: &str, name: &str, description: &str, examples: &[&str]) -> AgentSkill {
    AgentSkill {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        tags: vec!["demo".into()],
        examples: examples.iter().map(|s| s.to_string()).collect(),
        input_modes: Vec::new(),
        output_modes: Vec::new(),
        security_requirements: Vec::new(),
    }
}
