//! The AWS adapters' tests, in one binary (each test binary links the AWS SDK, slow on two
//! cores): the store conformance suite on DynamoDB (moto), the SES contract
//! (aws-ses-v2-local), SES's event records, the template's tables and policies, and
//! DynamoDB's transaction conflicts replayed from a stub.

#![allow(clippy::too_many_lines)]

mod conformance_dynamodb;
mod ses_contract;
mod ses_events;
mod template_tables;
mod transaction_conflicts;
