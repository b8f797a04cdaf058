/// `nnflops import MODEL`: any model a command reads, as spec source.
extension ModelRequest {
    /// The model as a spec: a spec file's or zoo model's own text, the spec a Hugging
    /// Face config.json is written as, an ONNX graph written back (`ONNXModel.specSource`)
    /// with `--batch` and `--set` giving its symbolic dimensions. A spec or config is
    /// written as it is, so `--batch` and `--set` (which it takes when it is analysed)
    /// are errors there.
    public func specSource() throws -> String {
        var values = overrides
        if let batch { values["batch"] = .int(batch) }
        switch model {
        case .onnx(let onnx):
            return try onnx.specSource(overrides: values)
        case .huggingFace(let config):
            try rejectSettings(values, "a config.json is written with its params at the config's values")
            return config.source
        case .spec:
            try rejectSettings(values, "a spec is written as it is")
            return try SpecLoader.load(reference).source
        }
    }

    private func rejectSettings(_ values: [String: Value], _ why: String) throws {
        guard !values.isEmpty else { return }
        let flags = (batch != nil ? ["--batch"] : []) + (overrides.isEmpty ? [] : ["--set"])
        throw NNFlopsError("\(flags.joined(separator: " and ")) \(flags.count == 1 ? "applies" : "apply") to " +
            "importing an ONNX file: \(why); give \(flags.count == 1 ? "it" : "them") when analysing the spec")
    }
}
