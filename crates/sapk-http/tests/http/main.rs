//! The handlers called as the Lambda runtime calls them, in one binary: the event builder
//! against the fixtures, the public API, and the staff API.

#![allow(clippy::too_many_lines)]

mod event_fixtures;
mod lambda_events;
mod staff_api;
