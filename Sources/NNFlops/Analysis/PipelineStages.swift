/// Pipeline parallelism (README, "Training on many GPUs"): the graph cut into P stages (P x V
/// pieces with the interleaved schedule) along its units (`units(of:)`: a transformer's
/// layers, and the embedding and head around them), balanced by training FLOPs or cut
/// where the user names. Each GPU's part
/// becomes a graph of its own, whose inputs are the activations the previous stage sends
/// (their gradients are sent back) and whose outputs are those it sends on: the memory,
/// cost and roofline analyses run on it unchanged.

/// One piece of the pipeline on one GPU.
public struct PipelinePart: Sendable {
    /// Node ranges of the whole graph this GPU runs, in order (several with interleaving).
    public var ranges: [Range<Int>]
    /// The GPU's graph.
    public var graph: Graph
    /// Tensors of the whole graph it receives from other stages, and sends to them.
    public var received: [Int]
    public var sent: [Int]
    /// Its first and last top-level units, by name (`wte`, `h.5`).
    public var firstUnit: String
    public var lastUnit: String
}

public enum PipelineStages {
    /// The units a pipeline cuts between, and the name of each: consecutive nodes grouped
    /// by their name up to its first numeric component (`h.3`, `transformer.h.3`,
    /// `model.layers.3`: a ModuleList's layer, however deep the list sits), else by its first
    /// component (`wte`, `lm_head`, or `transformer` for the nodes around the layers). A
    /// node that tensor parallelism inserts under a bare learned tensor (`wte:all_reduce`)
    /// belongs to that tensor's unit.
    static func units(of graph: Graph) -> [(range: Range<Int>, name: String)] {
        var units: [(range: Range<Int>, name: String)] = []
        var previous: String? = nil
        var start = 0
        for (i, node) in graph.nodes.enumerated() {
            let components = node.name.split(separator: ".", omittingEmptySubsequences: false)
            let key: String
            if let numeric = components.firstIndex(where: { Int($0) != nil }), numeric > 0 {
                key = components[...numeric].joined(separator: ".")
            } else {
                key = String(components[0].split(separator: ":", omittingEmptySubsequences: false)[0])
            }
            if key != previous {
                if i > start, let previous { units.append((start..<i, previous)) }
                start = i
                previous = key
            }
        }
        if graph.nodes.count > start, let previous { units.append((start..<graph.nodes.count, previous)) }
        return units
    }

    /// The pieces: `count` consecutive node ranges covering the graph. Split points name
    /// the units that start pieces 2, 3, ...; without them the pieces are balanced: the cut
    /// minimises the largest piece's training FLOPs (forward + backward, from `costs`).
    public static func pieces(of graph: Graph, costs: CostAnalysis, count: Int, splitPoints: [String]?) throws -> [Range<Int>] {
        let units = units(of: graph)
        let layers = units.filter { $0.name.contains(".") }.count
        let limit = layers > 0 ? layers : units.count
        guard count <= limit else {
            let some = units.filter { $0.name.contains(".") }.prefix(3).map(\.name).joined(separator: ", ")
            throw NNFlopsError("--pp cuts the model into \(count) pipeline pieces, but it has \(limit) \(layers > 0 ? "layers" : "top-level units")",
                               notes: ["note: every stage needs at least one layer (\(some)...)"])
        }
        guard count > 1 else { return [0..<graph.nodes.count] }
        var starts: [Int]
        if let splitPoints {
            starts = [0]
            for point in splitPoints {
                guard let u = units.firstIndex(where: { $0.name == point }) else {
                    let hint = closestMatch(to: point, in: units.map(\.name)).map { ["did you mean '\($0)'?"] } ?? []
                    throw NNFlopsError("--pipeline-split: '\(point)' is not a top-level unit of the model",
                                       notes: hint + ["note: units: " + units.prefix(8).map(\.name).joined(separator: ", ") + (units.count > 8 ? ", ..." : "")])
                }
                guard let previous = starts.last, u > previous else {
                    throw NNFlopsError("--pipeline-split: '\(point)' does not come after the previous split point; name them in model order")
                }
                starts.append(u)
            }
        } else {
            starts = balancedStarts(weights: units.map { unit in
                unit.range.reduce(0.0) { $0 + Double(costs.layers[$1].cost.forward.flops.value) + Double(costs.layers[$1].cost.backward.flops.value) }
            }, pieces: count)
        }
        return starts.indices.map { i in
            let first = units[starts[i]].range.lowerBound
            let end = i + 1 < starts.count ? units[starts[i + 1]].range.lowerBound : graph.nodes.count
            return first..<end
        }
    }

    /// The first unit of each of `pieces` consecutive groups minimising the largest group's
    /// weight (exact: dynamic programming over prefix sums; ties keep earlier cuts late).
    static func balancedStarts(weights: [Double], pieces: Int) -> [Int] {
        let n = weights.count
        var prefix = [0.0], total = 0.0
        for w in weights {
            total += w
            prefix.append(total)
        }
        // best[k][i]: the smallest largest weight cutting units 0..<i into k groups.
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: n + 1), count: pieces + 1)
        var cut = [[Int]](repeating: [Int](repeating: 0, count: n + 1), count: pieces + 1)
        best[0][0] = 0
        for k in 1...pieces {
            for i in k...n {
                for j in (k - 1)..<i where best[k - 1][j] < .infinity {
                    let value = max(best[k - 1][j], prefix[i] - prefix[j])
                    if value < best[k][i] || (value == best[k][i] && j > cut[k][i]) {
                        best[k][i] = value
                        cut[k][i] = j
                    }
                }
            }
        }
        var starts: [Int] = []
        var i = n
        for k in stride(from: pieces, to: 0, by: -1) {
            let j = cut[k][i]
            starts.append(j)
            i = j
        }
        return starts.reversed()
    }

    /// The graph of the nodes in `ranges` (in order): its inputs are the model inputs it
    /// reads and the tensors it receives (marked as needing their gradient when the whole
    /// graph computes it); its outputs are the model outputs it makes and the tensors later
    /// pieces read.
    public static func part(of graph: Graph, ranges: [Range<Int>], costs: CostAnalysis, index: Int) -> PipelinePart {
        let inPart = Set(ranges.flatMap { Array($0) })
        let producers = graph.producers()
        var part = Graph(model: "\(graph.model) stage \(index + 1)")
        part.budgets = graph.budgets
        part.settings = graph.settings
        var tensorMap: [Int: Int] = [:]
        var parameterMap: [Int: Int] = [:]
        var received: [Int] = []
        let modelInputs = Dictionary(graph.inputs.map { ($0.tensor, $0) }, uniquingKeysWith: { a, _ in a })
        func local(_ t: Int) -> Int {
            if let id = tensorMap[t] { return id }
            let id = part.tensors.count
            part.tensors.append(graph.tensors[t])
            tensorMap[t] = id
            return id
        }
        for n in ranges.flatMap({ Array($0) }) {
            let node = graph.nodes[n]
            for t in node.inputs where tensorMap[t] == nil {
                if let input = modelInputs[t] {
                    part.inputs.append(GraphInput(name: input.name, tensor: local(t), location: input.location))
                } else if let p = producers[t], !inPart.contains(p) {
                    let label = graph.nodes[p].outputs.count > 1 ? "\(graph.nodes[p].name) output \(graph.nodes[p].outputs.firstIndex(of: t) ?? 0)" : graph.nodes[p].name
                    part.inputs.append(GraphInput(name: label, tensor: local(t), location: graph.nodes[p].location,
                                                  requiresGradient: costs.tensorNeedsGradient[t]))
                    received.append(t)
                }
            }
            var ids: [Int] = []
            for id in node.parameterIDs {
                if let mapped = parameterMap[id] {
                    part.parameters[mapped].uses += 1
                    ids.append(mapped)
                } else {
                    var parameter = graph.parameters[id]
                    parameter.uses = 1
                    parameterMap[id] = part.parameters.count
                    ids.append(part.parameters.count)
                    part.parameters.append(parameter)
                }
            }
            part.nodes.append(Node(name: node.name, op: node.op, inputs: node.inputs.map(local), outputs: node.outputs.map(local),
                                   parameterIDs: ids, location: node.location))
        }
        // Outputs: the model's, and what later pieces (or other GPUs' pieces) read.
        var sent: [Int] = []
        let modelOutputs = Set(graph.outputs)
        var readOutside: Set<Int> = []
        for (n, node) in graph.nodes.enumerated() where !inPart.contains(n) {
            for t in node.inputs where tensorMap[t] != nil && producers[t].map(inPart.contains) == true { readOutside.insert(t) }
        }
        for (t, id) in tensorMap.sorted(by: { $0.value < $1.value }) where producers[t].map(inPart.contains) == true {
            if modelOutputs.contains(t) || readOutside.contains(t) { part.outputs.append(id) }
            if readOutside.contains(t) { sent.append(t) }
        }
        let units = units(of: graph)
        let first = units.first { $0.range.contains(ranges.first?.lowerBound ?? 0) }?.name ?? ""
        let last = units.last { $0.range.contains((ranges.last?.upperBound ?? 1) - 1) }?.name ?? ""
        return PipelinePart(ranges: ranges, graph: part, received: received, sent: sent, firstUnit: first, lastUnit: last)
    }
}
