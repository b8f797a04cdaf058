/// Whether a run trains (forward, backward, optimizer step) or only infers (forward):
/// `config.run.mode` of `nnflops.report/1`.
public enum RunMode: String, Sendable, Hashable, Codable, CaseIterable {
    case training
    case inference
}

extension RunConfiguration {
    public var mode: RunMode { inference ? .inference : .training }
}
