//! A2A v1.0 ProtoJSON data objects.
//!
//! Requests, messages and tasks are read strictly: unknown members (which
//! include snake_case aliases such as `task_id`), explicit `null`s, enum
//! integers and `oneof` conflicts are refused, so Warden never forwards a body
//! that an agent could read differently from the way Warden read it.

mod card;
pub(crate) mod de;
mod message;
mod requests;
mod task;

pub use card::*;
pub use message::*;
pub use requests::*;
pub use task::*;
