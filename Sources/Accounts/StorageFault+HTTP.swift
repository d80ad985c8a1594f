import HTTP
import Storage

extension HTTPError {
    /// 503 naming what is wrong with the database, when `error` is a storage fault: a full disk or
    /// an unwritable file is the operator's to fix, and the request can be retried then.
    public init?(storageFault error: any Error) {
        guard let fault = StorageFault(error) else { return nil }
        self = .serviceUnavailable("\(fault): nothing was saved; retry later", retryAfter: fault.retryAfter)
    }
}
