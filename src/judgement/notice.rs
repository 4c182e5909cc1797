//! A notice: a message about the gate itself, not about an image (the policy was changed
//! outside Terraform). Plain data; rendered by `crate::render::notice`, sent once on every
//! channel.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One line, ASCII, under 100 characters: the SNS subject and the Slack text.
    pub title: String,
    /// What happened and what to do.
    pub text: String,
}
