import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import ModeGateway

@Suite("Resilience policies as pure state machines, without sleeps")
struct ResiliencePolicyTests {
    @Test("Retry-After is read as seconds or as an HTTP date")
    func retryAfter() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        func seconds(_ value: String) -> Int? { UpstreamStatus.retryAfterSeconds([.retryAfter: value], now: now) }
        #expect(seconds("7") == 7)
        #expect(seconds("Tue, 14 Nov 2023 22:13:35 GMT") == 15)
        #expect(seconds("Tue, 14 Nov 2023 22:00:00 GMT") == 0, "a date in the past means now")
        #expect(seconds("-3") == nil && seconds("soon") == nil && seconds("") == nil)
    }

    @Test("The token bucket lets a burst through, then paces at the rate, and refuses past the wait bound")
    func tokenBucket() {
        var bucket = TokenBucket(ratePerSecond: 2, burst: 3)
        for _ in 0..<3 { #expect(bucket.reserve(now: .zero, maxWait: .zero) == .granted(wait: .zero)) }
        #expect(bucket.reserve(now: .zero, maxWait: .zero) == .rejected(retryAfter: .milliseconds(500)))
        #expect(bucket.reserve(now: .zero, maxWait: .seconds(1)) == .granted(wait: .milliseconds(500)))
        #expect(bucket.reserve(now: .zero, maxWait: .seconds(1)) == .granted(wait: .seconds(1)))
        #expect(bucket.reserve(now: .zero, maxWait: .seconds(1)) == .rejected(retryAfter: .milliseconds(1500)))
        // Idle time refills it up to the burst, no further.
        #expect(bucket.reserve(now: .seconds(100), maxWait: .zero) == .granted(wait: .zero))
        #expect(bucket.reserve(now: .seconds(100), maxWait: .zero) == .granted(wait: .zero))
        #expect(bucket.reserve(now: .seconds(100), maxWait: .zero) == .granted(wait: .zero))
        #expect(bucket.reserve(now: .seconds(100), maxWait: .zero) != .granted(wait: .zero))
    }

    @Test("Over any window the bucket grants at most burst + rate × window")
    func tokenBucketNeverExceedsRate() {
        var bucket = TokenBucket(ratePerSecond: 4, burst: 5)
        var granted: [Duration] = []
        var now = Duration.zero
        for step in 0..<2000 {
            now = .milliseconds(step * 7)
            if case .granted(let wait) = bucket.reserve(now: now, maxWait: .seconds(2)) { granted.append(now + wait) }
        }
        for start in stride(from: 0, to: 14_000, by: 250) {
            let window = Duration.milliseconds(start)..<(Duration.milliseconds(start) + .seconds(10))
            #expect(granted.filter { window.contains($0) }.count <= 5 + 40)
        }
    }

    @Test("Pausing holds every request until the instant given")
    func tokenBucketPause() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 5)
        bucket.pause(until: .seconds(3))
        #expect(bucket.reserve(now: .seconds(1), maxWait: .seconds(10)) == .granted(wait: .seconds(2)))
    }

    @Test("A late success does not close an open breaker; only the probe decides")
    func lateSuccess() {
        var breaker = CircuitBreaker(threshold: 2, cooldown: .seconds(30))
        breaker.recordFailure(now: .zero)
        breaker.recordFailure(now: .zero)
        #expect(breaker.state == .open(until: .seconds(30)))
        // An answer to a call sent before the breaker opened.
        breaker.recordSuccess()
        #expect(breaker.state == .open(until: .seconds(30)))
        #expect(breaker.acquire(now: .seconds(31)) == .probe)
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
    }

    @Test("The breaker opens after N consecutive failures, fails fast, lets one probe through, and closes on its success")
    func breaker() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: .seconds(30))
        #expect(breaker.acquire(now: .zero) == .allowed)
        breaker.recordFailure(now: .zero)
        breaker.recordFailure(now: .zero)
        breaker.recordSuccess()  // not consecutive any more
        breaker.recordFailure(now: .zero)
        breaker.recordFailure(now: .zero)
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        breaker.recordFailure(now: .seconds(1))
        #expect(breaker.state == .open(until: .seconds(31)))
        #expect(breaker.acquire(now: .seconds(10)) == .rejected(retryAfter: .seconds(21)))
        #expect(breaker.acquire(now: .seconds(31)) == .probe)
        #expect(breaker.acquire(now: .seconds(31)) == .rejected(retryAfter: .seconds(30)))
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(breaker.acquire(now: .seconds(32)) == .allowed)
    }

    @Test("A failed probe reopens the breaker for another cool-down")
    func breakerProbeFails() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(5))
        breaker.recordFailure(now: .zero)
        #expect(breaker.acquire(now: .seconds(5)) == .probe)
        breaker.recordFailure(now: .seconds(6))
        #expect(breaker.state == .open(until: .seconds(11)))
        breaker.releaseProbe(now: .seconds(7))
        #expect(breaker.state == .open(until: .seconds(11)))
    }

    @Test("Backoff is exponential with full jitter, capped, and Retry-After is honoured up to its cap")
    func retryPolicy() {
        var policy = RetryPolicy()
        policy.maxAttempts = 4
        policy.baseDelay = .milliseconds(100)
        policy.maxDelay = .milliseconds(300)
        policy.maxRetryAfter = .seconds(5)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let first = policy.delay(beforeRetry: 1, retryAfter: nil, random: &random)
            let third = policy.delay(beforeRetry: 3, retryAfter: nil, random: &random)
            #expect(first.map { $0 >= .zero && $0 <= .milliseconds(100) } == true)
            #expect(third.map { $0 >= .zero && $0 <= .milliseconds(300) } == true)
        }
        #expect(policy.delay(beforeRetry: 4, retryAfter: nil, random: &random) == nil)
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(2), random: &random) == .seconds(2))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(6), random: &random) == nil)
    }

    @Test("Mode's rate headers say how long to hold off")
    func rateLimitHeaders() {
        func response(_ status: Int, _ fields: [String: String]) -> UpstreamResponse {
            var headers = HTTPFields()
            for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
            return UpstreamResponse(status: .init(code: status), headers: headers, body: ByteBuffer())
        }
        #expect(RateLimitHeaders.pause(response(200, ["X-RateLimit-Remaining": "5"])) == nil)
        #expect(RateLimitHeaders.pause(response(200, ["X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"])) == .seconds(2))
        #expect(RateLimitHeaders.pause(response(429, ["Retry-After": "3"])) == .seconds(3))
        #expect(RateLimitHeaders.pause(response(200, [:])) == nil)
    }
}
