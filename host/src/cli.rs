//! The `switchyard` command's own code: `switchyard demo`, `switchyard plugin check` and
//! `switchyard plugin new`. Not part of the embedding API.

pub mod demo;
pub mod plugin_check;
pub mod scaffold;
