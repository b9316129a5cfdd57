/// Who is asking and where: the parts of a request that shape ARNs and scoping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The region of the request (from its SigV4 credential scope, else the configured default).
    pub region: String,
    /// The account every resource belongs to.
    pub account_id: String,
    /// The request id answered in `x-amzn-RequestId`.
    pub request_id: String,
    /// The URL the request was addressed to (`http://<Host>`), when it came over HTTP: where
    /// DiscoverPollEndpoint sends agents.
    pub endpoint: Option<String>,
}

impl RequestContext {
    /// A context for in-process use (embedding, tests).
    pub fn new(region: impl Into<String>, account_id: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            account_id: account_id.into(),
            request_id: String::new(),
            endpoint: None,
        }
    }

    /// True when `arn` is an ECS ARN of this request's region and account: resources of other
    /// regions are invisible, as they are behind another regional endpoint in AWS.
    pub fn owns(&self, arn: &str) -> bool {
        crate::arn::parse(arn)
            .is_some_and(|a| a.region == self.region && a.account == self.account_id)
    }

    /// The IAM principal KECS acts as: the account's root user.
    pub fn root_principal(&self) -> String {
        format!(
            "arn:{}:iam::{}:root",
            crate::arn::partition(&self.region),
            self.account_id
        )
    }
}
