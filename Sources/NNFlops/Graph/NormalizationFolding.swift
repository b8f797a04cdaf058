/// Inference-time batchnorm folding (`--fold-bn`; seeds/002 §20.1): a normalisation
/// whose operator says `foldsIntoProducer`, reading a tensor that only it reads and that
/// an operator able to absorb a per-channel affine transform produced (`absorbingAffine`:
/// conv, conv-transpose, linear), disappears: W' = W * gamma / sigma,
/// b' = (b - mu) * gamma / sigma + beta. Its FLOPs, parameters and buffers vanish; a
/// producer without a bias gains one ([C] parameters and one add per output). Never
/// switches on operator kind.
extension Graph {
    public func foldingNormalizations() -> Graph {
        let producers = self.producers()
        var reads = [Int](repeating: 0, count: tensors.count)
        for node in nodes { for t in node.inputs { reads[t] += 1 } }
        let outputSet = Set(outputs)

        var folded = self
        var remove = Set<Int>()
        /// Tensor replacements: a folded norm's output is its producer's output.
        var replacement = [Int: Int]()
        var newParameters = parameters
        for (index, node) in nodes.enumerated() where node.op.foldsIntoProducer && node.inputs.count == 1 && node.outputs.count == 1 {
            let t = node.inputs[0]
            guard let p = producers[t], reads[t] == 1, !outputSet.contains(t), !remove.contains(p),
                  let absorbed = folded.nodes[p].op.absorbingAffine() else { continue }
            var producer = folded.nodes[p]
            let before = producer.op.parameters.count
            producer.op = absorbed
            producer.arguments = nil
            for spec in absorbed.parameters.dropFirst(before) {
                newParameters.append(Parameter(name: spec.qualifiedName(under: producer.name), shape: spec.shape, frozen: false, uses: 1))
                producer.parameterIDs.append(newParameters.count - 1)
            }
            folded.nodes[p] = producer
            remove.insert(index)
            replacement[node.outputs[0]] = t
        }
        guard !remove.isEmpty else { return self }
        func resolve(_ t: Int) -> Int {
            var t = t
            while let r = replacement[t] { t = r }
            return t
        }
        var kept: [Node] = []
        for (index, var node) in folded.nodes.enumerated() where !remove.contains(index) {
            node.inputs = node.inputs.map(resolve)
            kept.append(node)
        }
        // Renumber the parameters still in use, in order of first use.
        var map = [Int: Int]()
        var parameters: [Parameter] = []
        for i in kept.indices {
            kept[i].parameterIDs = kept[i].parameterIDs.map { id in
                if let new = map[id] { return new }
                map[id] = parameters.count
                parameters.append(newParameters[id])
                return parameters.count - 1
            }
        }
        folded.nodes = kept
        folded.parameters = parameters
        folded.outputs = outputs.map(resolve)
        return folded
    }
}
