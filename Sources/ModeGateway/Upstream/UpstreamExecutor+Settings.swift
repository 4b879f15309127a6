extension UpstreamExecutor.Settings {
    /// Reads `MODE_RATE_LIMIT_*`, `MODE_RETRY_*` and `MODE_BREAKER_*`.
    init(parser parse: ConfigParser) throws(ConfigurationError) {
        self.init()
        self.ratePerSecond = try parse.rate("mode.rate.limit.per.second", limit: 10_000) ?? self.ratePerSecond
        self.burst = try parse.int("mode.rate.limit.burst", in: 1...10_000) ?? self.burst
        self.maxQueueWait = try parse.seconds("mode.rate.limit.max.wait.seconds", allowZero: true) ?? self.maxQueueWait
        self.retry.maxAttempts = try parse.int("mode.retry.max.attempts", in: 1...10) ?? self.retry.maxAttempts
        self.retry.baseDelay = try parse.seconds("mode.retry.base.delay.seconds") ?? self.retry.baseDelay
        self.retry.maxDelay = try parse.seconds("mode.retry.max.delay.seconds") ?? self.retry.maxDelay
        self.retry.maxRetryAfter = try parse.seconds("mode.retry.after.max.seconds", allowZero: true) ?? self.retry.maxRetryAfter
        self.breakerThreshold = try parse.int("mode.breaker.failures", in: 1...1000) ?? self.breakerThreshold
        self.breakerCooldown = try parse.seconds("mode.breaker.cooldown.seconds") ?? self.breakerCooldown
    }
}
