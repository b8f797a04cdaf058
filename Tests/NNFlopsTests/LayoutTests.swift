import Foundation
import Testing
@testable import NNFlops

/// Memory layouts (Graph/TensorLayout.swift) against PyTorch's: for chains of views,
/// reshapes, copies and element-wise operators measured once by scripts/measure_layouts.py
/// (Tests/Fixtures/layouts.json), every step's strides, contiguity and whether it is a new
/// tensor or shares its input's storage, as nnflops's operators declare them.
@Suite struct LayoutTests {
    struct Result: Decodable, Sendable {
        var shape: [Int]
        var strides: [Int]
        var contiguous: Bool
        var shares_input_storage: Bool
    }

    /// A step as the fixture writes it: an operator name and its arguments (numbers,
    /// lists of numbers, or for `add` the recipe of the other operand).
    enum Argument: Decodable, Sendable {
        case number(Double)
        case list([Int])
        case recipe(Recipe)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let v = try? container.decode(Double.self) { self = .number(v) }
            else if let v = try? container.decode([Int].self) { self = .list(v) }
            else { self = .recipe(try container.decode(Recipe.self)) }
        }
        var text: String {
            switch self {
            case .number(let v): v.rounded() == v ? String(Int(v)) : String(v)
            case .list(let v): "[" + v.map(String.init).joined(separator: ", ") + "]"
            case .recipe: "?"
            }
        }
    }

    struct Step: Decodable, Sendable {
        var op: String
        var arguments: [Argument]
        init(from decoder: Decoder) throws {
            var container = try decoder.unkeyedContainer()
            op = try container.decode(String.self)
            arguments = []
            while !container.isAtEnd { arguments.append(try container.decode(Argument.self)) }
        }
    }

    struct Recipe: Decodable, Sendable {
        var input: [Int]
        var steps: [Step]
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var input: [Int]
        var steps: [Step]
        var results: [Result]
        var testDescription: String { "\(input) " + steps.map { $0.op }.joined(separator: " -> ") }
    }

    struct Fixture: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/layouts.json")
        guard let data = try? Data(contentsOf: url), let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else { return [] }
        return fixture.cases
    }()

    /// The spec lines for a chain of steps from tensor `start`; returns the lines and the
    /// node name of each step (whose first output, or for `split` the chosen piece, is the result).
    static func lines(_ steps: [Step], from start: String, prefix: String, inputs: inout [String]) -> (lines: [String], names: [String], last: String) {
        var lines: [String] = [], names: [String] = []
        var current = start
        for (index, step) in steps.enumerated() {
            let name = "\(prefix)\(index)", out = "\(prefix)v\(index)"
            let a = step.arguments.map(\.text)
            let named = "name = \"\(name)\""
            switch step.op {
            case "transpose": lines.append("\(out) = transpose(\(current), \(a[0]), \(a[1]), \(named))")
            case "permute": lines.append("\(out) = permute(\(current), \(a[0]), \(named))")
            case "slice": lines.append("\(out) = slice(\(current), \(a[0]), \(a[1]), \(a[2]), step = \(a[3]), \(named))")
            case "select": lines.append("\(out) = select(\(current), \(a[0]), \(a[1]), \(named))")
            case "split":
                lines.append("\(out)parts = split(\(current), \(a[0]), dim = \(a[1]), \(named))")
                lines.append("\(out) = \(out)parts[\(a[2])]")
            case "expand": lines.append("\(out) = expand(\(current), \(a[0]), \(named))")
            case "reshape": lines.append("\(out) = reshape(\(current), \(a[0]), \(named))")
            case "flatten": lines.append("\(out) = flatten(\(current), start = \(a[0]), end = \(a[1]), \(named))")
            case "contiguous": lines.append("\(out) = contiguous(\(current), \(named))")
            case "relu": lines.append("\(out) = relu(\(current), \(named))")
            case "mul": lines.append("\(out) = mul(\(current), \(a[0]), \(named))")
            case "add":
                guard case .recipe(let recipe) = step.arguments[0] else { break }
                let input = "o\(inputs.count)"
                inputs.append("input \(input): " + "[" + recipe.input.map(String.init).joined(separator: ", ") + "]")
                let other = Self.lines(recipe.steps, from: input, prefix: "\(input)_", inputs: &inputs)
                lines += other.lines
                lines.append("\(out) = add(\(current), \(other.last), \(named))")
            default: Issue.record("unknown step \(step.op)")
            }
            names.append(name)
            current = out
        }
        return (lines, names, current)
    }

    @Test(arguments: cases)
    func layoutsAreTorchs(_ c: Case) throws {
        var inputs = ["input x: [" + c.input.map(String.init).joined(separator: ", ") + "]"]
        let chain = Self.lines(c.steps, from: "x", prefix: "s", inputs: &inputs)
        let source = (["model layouts"] + inputs + chain.lines + ["output \(chain.last)"]).joined(separator: "\n") + "\n"
        let graph = try Elaborator.elaborate(source: source, file: "layouts.spec")
        for (index, (name, expected)) in zip(chain.names, c.results).enumerated() {
            let node = try #require(graph.nodes.first { $0.name == name }, "\(name) in\n\(source)")
            var piece = 0
            if c.steps[index].op == "split", case .number(let k) = c.steps[index].arguments[2] { piece = Int(k) }
            let type = graph.tensors[node.outputs[piece]]
            let step = "\(c.testDescription) step \(index) (\(c.steps[index].op))"
            #expect(type.shape == expected.shape, "\(step): shape")
            #expect(type.isContiguous == expected.contiguous, "\(step): contiguous \(type.isContiguous), torch \(expected.contiguous)")
            if expected.contiguous {
                // torch's strides of size-1 dimensions are arbitrary; contiguity is what counts.
                #expect(type.strides == nil)
            } else {
                #expect(type.elementStrides == expected.strides, "\(step): strides \(type.elementStrides), torch \(expected.strides)")
            }
            let shares = node.op.alias(ofOutput: piece) != nil
            #expect(shares == expected.shares_input_storage, "\(step): a view \(shares), torch shares storage \(expected.shares_input_storage)")
        }
    }

    @Test func fixtureIsThere() { #expect(Self.cases.count >= 30) }

    /// The rules by hand: torch's is_contiguous ignores size-1 dimensions; a permuted
    /// contiguous tensor is dense; a slice with a gap is not; computeStride views what it can.
    @Test func rulesByHand() {
        #expect(TensorType.isContiguous([2, 1, 4], [4, 99, 1]))
        #expect(!TensorType.isContiguous([2, 3], [1, 2]))
        #expect(TensorType([3, 2], strides: [1, 3]).isNonOverlappingAndDense)
        #expect(!TensorType([2, 3], strides: [6, 1]).isNonOverlappingAndDense)
        // [2, 3, 4] transposed to [2, 4, 3] (strides 12, 1, 4): size-1 dimensions can be
        // inserted anywhere (torch: x.view(2, 1, 4, 3).stride() == (12, 4, 1, 4),
        // x.view(1, 2, 4, 3).stride() == (24, 12, 1, 4)); the last two cannot merge.
        let t = TensorType([2, 4, 3], strides: [12, 1, 4])
        #expect(t.viewed(as: [2, 1, 4, 3])?.elementStrides == [12, 4, 1, 4])
        #expect(t.viewed(as: [1, 2, 4, 3])?.elementStrides == [24, 12, 1, 4])
        #expect(t.viewed(as: [2, 12]) == nil)
    }

    /// A contiguous tensor: `contiguous` is the input itself, and a reshape of a strided
    /// tensor that cannot be viewed copies (README, "Shape and data movement").
    @Test func contiguousAndReshapeAliases() throws {
        let graph = try Elaborator.elaborate(source: """
            input x: [2, 3, 4]
            a = contiguous(x, name = "same")
            t = transpose(x, 1, 2)
            b = contiguous(t, name = "copy")
            c = reshape(t, [2, 12], name = "copying_reshape")
            d = reshape(t, [2, 4, 3], name = "view_reshape")
            output a
            output b
            output c
            output d
            """, file: "t.spec")
        func node(_ name: String) throws -> Node { try #require(graph.nodes.first { $0.name == name }) }
        #expect(try node("same").op.alias(ofOutput: 0) == .view(input: 0))
        #expect(try node("copy").op.alias(ofOutput: 0) == nil)
        #expect(try node("copy").op.detail == "copy")
        #expect(try node("copying_reshape").op.alias(ofOutput: 0) == nil)
        #expect(try node("view_reshape").op.alias(ofOutput: 0) == .view(input: 0))
        #expect(graph.tensors[try node("copy").outputs[0]].isContiguous)
    }
}
