import NNFlops
import Foundation
let path = CommandLine.arguments[1]
do {
    let src = try String(contentsOfFile: path, encoding: .utf8)
    let g = try Elaborator.elaborate(source: src, file: path)
    let a = try CostAnalysis(graph: g)
    for l in a.layers { print(l.name, l.kind, l.outputShapes, l.parameters, l.cost.forward.flops, l.cost.backward.flops) }
    print(a.parameters, a.forward.flops, a.forward.macs, a.backward.flops)
} catch { print(error) }
