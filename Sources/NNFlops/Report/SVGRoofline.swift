import Foundation

/// A log-log roofline chart as a standalone SVG (`nnflops roofline --svg FILE`): the roof
/// of the GPU for the run's precision (bandwidth diagonal, matrix and vector peaks), the
/// ridge point, and one point per operator (its phases summed; the optimizer step is one
/// point) at (FLOPs / bytes, FLOPs / lower-bound time), its area proportional to its
/// share of the step time, coloured by what bounds it; the heaviest are named.
public enum SVGRoofline {
    struct Point {
        var name: String
        var op: String
        var flops: Double
        var bytes: Double
        var time: Double
        var computeTime: Double
        var intensity: Double { bytes > 0 ? flops / bytes : .infinity }
        var performance: Double { time > 0 ? flops / time : 0 }
    }

    public static func render(_ analysis: RooflineAnalysis, model: String, labelled: Int = 8) -> String {
        let precision = analysis.configuration.precision.rawValue + (analysis.roof.tf32 ? "+tf32" : "")
        // One point per operator: sum its phases (forward, backward, recompute).
        var points: [Point] = []
        var index: [String: Int] = [:]
        for entry in analysis.entries {
            let key = entry.phase == .optimizer ? "optimizer step" : entry.name
            let i = index[key] ?? points.count
            if i == points.count {
                index[key] = i
                points.append(Point(name: key, op: entry.op, flops: 0, bytes: 0, time: 0, computeTime: 0))
            }
            points[i].flops += Double(entry.flops)
            points[i].bytes += Double(entry.bytes)
            points[i].time += entry.time
            points[i].computeTime += entry.cost.computeTime
        }
        let total = points.map(\.time).reduce(0, +)
        let plotted = points.filter { $0.flops > 0 && $0.bytes > 0 && $0.time > 0 }
        let roof = analysis.roof
        let bandwidth = roof.bandwidth
        let peak = analysis.peak
        let vector = (try? roof.vectorPeak(for: analysis.mainType)) ?? roof.gpu.fp32
        let ridge = analysis.ridge

        // Axes: whole decades covering the points, the ridge and the peak.
        let intensities = plotted.map(\.intensity) + [ridge, vector / bandwidth]
        let xMin = pow(10, floor(log10(max(1e-4, min(intensities.min() ?? 0.01, 0.1)))))
        let xMax = pow(10, ceil(log10(max(intensities.max() ?? 1000, ridge * 10))))
        let performances = plotted.map(\.performance).filter { $0 > 0 } + [xMin * bandwidth]
        let yMin = pow(10, floor(log10(max(1, performances.min() ?? 1e9))))
        let yMax = pow(10, ceil(log10(peak * 1.5)))

        let width = 1000.0, height = 680.0
        let left = 118.0, right = 40.0, top = 70.0, bottom = 80.0
        let plotW = width - left - right, plotH = height - top - bottom
        func x(_ v: Double) -> Double { left + (log10(v) - log10(xMin)) / (log10(xMax) - log10(xMin)) * plotW }
        func y(_ v: Double) -> Double { top + plotH - (log10(max(v, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>

        """
        let title = "\(model) on \(roof.gpu.name), \(precision): step lower bound \(RooflineRenderer.seconds(analysis.stepTime))"
        svg += "<text x=\"\(f(width / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<text x=\"\(f(width / 2))\" y=\"50\" text-anchor=\"middle\" fill=\"#555\">Roofline (log-log): one point per operator, area proportional to its share of the step time</text>\n"

        // Grid and ticks at decades.
        var decade = xMin
        while decade <= xMax * 1.0001 {
            let px = x(decade)
            svg += "<line x1=\"\(f(px))\" y1=\"\(f(top))\" x2=\"\(f(px))\" y2=\"\(f(top + plotH))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(px))\" y=\"\(f(top + plotH + 20))\" text-anchor=\"middle\">\(tick(decade, unit: ""))</text>\n"
            decade *= 10
        }
        decade = yMin
        while decade <= yMax * 1.0001 {
            let py = y(decade)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(py))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(py + 4))\" text-anchor=\"end\">\(tick(decade, unit: "FLOP/s"))</text>\n"
            decade *= 10
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 30))\" text-anchor=\"middle\" font-size=\"15\">Arithmetic intensity (FLOP / byte moved)</text>\n"
        svg += "<text transform=\"translate(20 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"15\">Attainable performance (FLOP/s)</text>\n"

        // The roofs: bandwidth diagonal up to each peak, then flat.
        func roofPath(_ p: Double) -> String {
            let knee = p / bandwidth
            let start = max(xMin, yMin / bandwidth)
            return "M \(f(x(start))) \(f(y(start * bandwidth))) L \(f(x(knee))) \(f(y(p))) L \(f(x(xMax))) \(f(y(p)))"
        }
        svg += "<path d=\"\(roofPath(vector))\" fill=\"none\" stroke=\"#888\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
        svg += "<text x=\"\(f(x(xMax) - 6))\" y=\"\(f(y(vector) - 6))\" text-anchor=\"end\" fill=\"#666\">vector (element-wise) peak \(RooflineRenderer.rate(vector))</text>\n"
        svg += "<path d=\"\(roofPath(peak))\" fill=\"none\" stroke=\"#111\" stroke-width=\"2.5\"/>\n"
        let formatName = roof.matrixFormat(for: analysis.mainType).rawValue
        svg += "<text x=\"\(f(x(xMax) - 6))\" y=\"\(f(y(peak) - 8))\" text-anchor=\"end\" font-weight=\"bold\">\(formatName) matrix peak \(RooflineRenderer.rate(peak)) (dense)</text>\n"
        // Bandwidth label along the diagonal.
        let labelX = max(xMin * 3, min(ridge / 30, xMax))
        let angle = -atan2(y(labelX) - y(labelX * 10), x(labelX * 10) - x(labelX)) * 180 / .pi
        svg += "<text transform=\"translate(\(f(x(labelX))) \(f(y(labelX * bandwidth) - 8))) rotate(\(f(-angle)))\" fill=\"#333\">memory \(Units.si(bandwidth, unit: "B/s"))</text>\n"
        // Ridge point.
        svg += "<line x1=\"\(f(x(ridge)))\" y1=\"\(f(y(peak)))\" x2=\"\(f(x(ridge)))\" y2=\"\(f(top + plotH))\" stroke=\"#c00\" stroke-dasharray=\"3 3\"/>\n"
        svg += "<circle cx=\"\(f(x(ridge)))\" cy=\"\(f(y(peak)))\" r=\"4\" fill=\"#c00\"/>\n"
        svg += "<text x=\"\(f(x(ridge) + 6))\" y=\"\(f(top + plotH - 8))\" fill=\"#c00\">ridge \(Units.format(ridge)) FLOP/B</text>\n"
        svg += "<text x=\"\(f(left + 10))\" y=\"\(f(top + 20))\" fill=\"#d9480f\">memory-bound ←</text>\n"
        svg += "<text x=\"\(f(left + plotW - 10))\" y=\"\(f(top + 20))\" text-anchor=\"end\" fill=\"#1c5fb8\">→ compute-bound</text>\n"

        // Points, largest first so small ones stay visible on top.
        let maxRadius = 34.0, minRadius = 2.5
        let ordered = plotted.sorted { $0.time > $1.time }
        let largest = ordered.first?.time ?? 1
        for p in ordered {
            let share = total > 0 ? p.time / total : 0
            // Area proportional to the share of time, the largest point at maxRadius.
            let r = max(minRadius, maxRadius * (p.time / largest).squareRoot())
            let memoryBound = p.computeTime < p.time * 0.999
            let colour = memoryBound ? "#f08c00" : "#1c7ed6"
            svg += "<circle cx=\"\(f(x(p.intensity)))\" cy=\"\(f(y(p.performance)))\" r=\"\(f(r))\" fill=\"\(colour)\" fill-opacity=\"0.45\" stroke=\"\(colour)\"><title>\(escape("\(p.name) (\(p.op)): \(Units.format(p.intensity)) FLOP/B, \(RooflineRenderer.rate(p.performance)), \(RooflineRenderer.seconds(p.time)), \(RooflineRenderer.percent(share)) of the time"))</title></circle>\n"
        }
        // Names of the heaviest; operators drawn at the same spot (the same layer in every
        // block) share one label with a count, and labels too close to one already placed
        // are skipped.
        var placed: [(Double, Double)] = []
        var labels = 0
        for p in ordered where labels < labelled {
            let px = x(p.intensity), py = y(p.performance)
            if placed.contains(where: { abs($0.0 - px) < 60 && abs($0.1 - py) < 16 }) { continue }
            let twins = ordered.filter { abs(x($0.intensity) - px) < 1.5 && abs(y($0.performance) - py) < 1.5 && $0.op == p.op }
            let share = twins.map(\.time).reduce(0, +) / max(total, .leastNonzeroMagnitude)
            let name = twins.count > 1 ? "\(p.op) x\(twins.count) (e.g. \(p.name))" : p.name
            let dy = labels % 2 == 0 ? -14.0 : 20.0
            let anchor = px > left + plotW * 0.6 ? "end" : "start"
            let dx = anchor == "end" ? -12.0 : 12.0
            svg += "<text x=\"\(f(px + dx))\" y=\"\(f(py + dy))\" text-anchor=\"\(anchor)\" font-size=\"12\" fill=\"#222\">\(escape(name + " " + RooflineRenderer.percent(share)))</text>\n"
            placed.append((px, py))
            labels += 1
        }
        // Legend.
        let lx = left + 14, ly = top + 40
        svg += "<rect x=\"\(f(lx - 6))\" y=\"\(f(ly - 14))\" width=\"250\" height=\"48\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
        svg += "<circle cx=\"\(f(lx + 4))\" cy=\"\(f(ly - 2))\" r=\"5\" fill=\"#1c7ed6\" fill-opacity=\"0.45\" stroke=\"#1c7ed6\"/><text x=\"\(f(lx + 16))\" y=\"\(f(ly + 2))\">compute-bound operator</text>\n"
        svg += "<circle cx=\"\(f(lx + 4))\" cy=\"\(f(ly + 18))\" r=\"5\" fill=\"#f08c00\" fill-opacity=\"0.45\" stroke=\"#f08c00\"/><text x=\"\(f(lx + 16))\" y=\"\(f(ly + 22))\">memory-bound operator</text>\n"
        svg += "</svg>\n"
        return svg
    }

    /// `0.01`, `1`, `100`, `10k`; with a unit, SI prefixes: `1 TFLOP/s`.
    static func tick(_ v: Double, unit: String) -> String {
        if unit.isEmpty {
            if v >= 1e4 { return Units.si(v, unit: "").trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ".0 ", with: " ") }
            if v >= 1 { return String(Int(v.rounded())) }
            return String(format: "%g", v)
        }
        // Decades: 1, 10 or 100 of an SI prefix, without decimals.
        return Units.si(v, unit: unit).replacingOccurrences(of: ".00 ", with: " ").replacingOccurrences(of: ".0 ", with: " ")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
