/// The report of `nnflops analyze`: schema `nnflops.report/1`. Key names are stable;
/// additions are backwards compatible, removals or renames bump the schema version.
public struct AnalysisReport: Codable, Sendable {
    public var schema = "nnflops.report/1"
    public var model: String
    public var config: Config
    public var totals: Totals
    public var layers: [Layer]
    public var byOp: [String: OpTotals]

    public struct Config: Codable, Sendable {
        public var batch: Int?
        public var attentionFlops: String
        public var depth: Int?
        /// Final values of the spec's params.
        public var params: [String: String]

        enum CodingKeys: String, CodingKey {
            case batch, depth, params
            case attentionFlops = "attention_flops"
        }
    }

    public struct Totals: Codable, Sendable {
        public var params: Int
        public var trainableParams: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int
        public var backwardMacs: Int
        public var inputGradFlops: Int
        public var weightGradFlops: Int
        public var trainStepFlops: Int
        public var trainStepMacs: Int
        public var operators: Int

        enum CodingKeys: String, CodingKey {
            case params, operators
            case trainableParams = "trainable_params"
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
            case backwardMacs = "backward_macs"
            case inputGradFlops = "input_grad_flops"
            case weightGradFlops = "weight_grad_flops"
            case trainStepFlops = "train_step_flops"
            case trainStepMacs = "train_step_macs"
        }
    }

    public struct Layer: Codable, Sendable {
        public var name: String
        /// Operator kind, or `block` when `--depth` merged several kinds.
        public var op: String
        public var detail: String
        public var outputShape: [Int]
        public var params: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int
        public var backwardMacs: Int
        public var inputGradFlops: Int
        public var weightGradFlops: Int
        /// Operators merged into this row (1 unless aggregated by `--depth`).
        public var operators: Int

        enum CodingKeys: String, CodingKey {
            case name, op, detail, params, operators
            case outputShape = "output_shape"
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
            case backwardMacs = "backward_macs"
            case inputGradFlops = "input_grad_flops"
            case weightGradFlops = "weight_grad_flops"
        }
    }

    public struct OpTotals: Codable, Sendable {
        public var count: Int
        public var forwardFlops: Int
        public var forwardMacs: Int
        public var backwardFlops: Int

        enum CodingKeys: String, CodingKey {
            case count
            case forwardFlops = "forward_flops"
            case forwardMacs = "forward_macs"
            case backwardFlops = "backward_flops"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, model, config, totals, layers
        case byOp = "by_op"
    }
}

extension AnalysisReport {
    /// Builds the report from a graph's cost analysis. `depth` merges layers whose names
    /// share their first `depth` components (`layer1.0.conv1` at depth 2 -> `layer1.0`).
    public init(graph: Graph, analysis: CostAnalysis, options: CountOptions, depth: Int? = nil) {
        model = graph.model
        var params: [String: String] = [:]
        var batch: Int?
        for (name, value) in graph.settings {
            params[name] = value.description
            if name == "batch", case .int(let b) = value { batch = b }
        }
        config = Config(batch: batch, attentionFlops: options.attention.rawValue, depth: depth, params: params)
        totals = Totals(params: analysis.parameters, trainableParams: analysis.trainableParameters,
                        forwardFlops: analysis.forward.flops.value, forwardMacs: analysis.forward.macs.value,
                        backwardFlops: analysis.backward.flops.value, backwardMacs: analysis.backward.macs.value,
                        inputGradFlops: analysis.inputGradient.flops.value, weightGradFlops: analysis.weightGradient.flops.value,
                        trainStepFlops: analysis.trainStep.flops.value, trainStepMacs: analysis.trainStep.macs.value,
                        operators: analysis.layers.count)
        var byOp: [String: OpTotals] = [:]
        for layer in analysis.layers {
            var entry = byOp[layer.kind] ?? OpTotals(count: 0, forwardFlops: 0, forwardMacs: 0, backwardFlops: 0)
            entry.count += 1
            entry.forwardFlops += layer.cost.forward.flops.value
            entry.forwardMacs += layer.cost.forward.macs.value
            entry.backwardFlops += layer.cost.backward.flops.value
            byOp[layer.kind] = entry
        }
        self.byOp = byOp
        let rows = analysis.layers.map { layer in
            Layer(name: layer.name, op: layer.kind, detail: layer.detail, outputShape: layer.outputShapes.first ?? [],
                  params: layer.parameters, forwardFlops: layer.cost.forward.flops.value, forwardMacs: layer.cost.forward.macs.value,
                  backwardFlops: layer.cost.backward.flops.value, backwardMacs: layer.cost.backward.macs.value,
                  inputGradFlops: layer.cost.inputGradient.flops.value, weightGradFlops: layer.cost.weightGradient.flops.value,
                  operators: 1)
        }
        layers = depth.map { Self.aggregate(rows, depth: $0) } ?? rows
    }

    static func aggregate(_ rows: [Layer], depth: Int) -> [Layer] {
        var merged: [Layer] = []
        var index: [String: Int] = [:]
        for row in rows {
            let key = row.name.split(separator: ".").prefix(max(1, depth)).joined(separator: ".")
            guard let at = index[key] else {
                index[key] = merged.count
                var first = row
                first.name = key
                if key != row.name { first.detail = "" }
                merged.append(first)
                continue
            }
            var group = merged[at]
            if group.op != row.op { group.op = "block" }
            group.detail = ""
            group.outputShape = row.outputShape
            group.params += row.params
            group.forwardFlops += row.forwardFlops
            group.forwardMacs += row.forwardMacs
            group.backwardFlops += row.backwardFlops
            group.backwardMacs += row.backwardMacs
            group.inputGradFlops += row.inputGradFlops
            group.weightGradFlops += row.weightGradFlops
            group.operators += row.operators
            merged[at] = group
        }
        return merged
    }
}
