import Foundation

/// A log-log roofline chart as a standalone SVG (`nnflops roofline --svg FILE`): the roof
/// of the GPU for the run's precision (bandwidth diagonal, matrix and vector peaks), the
/// ridge point, and one point per operator (its phases summed; the optimizer step is one
/// point) at (FLOPs / bytes, FLOPs / lower-bound time), its area proportional to its
/// share of the step time, coloured by what bounds it; the heaviest are named.
///
/// Labels are placed with collision avoidance: each name tries positions around its
/// point, nearest first, and takes the first whose box stays inside the plot and meets no
/// other label, roof label or roof line (`Box`, `Layout`); a name that finds no place is
/// left to the point's tooltip. The roof labels are drawn above the points with a white
/// halo, so they stay readable where points crowd the roof.
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

    /// An axis-aligned rectangle in SVG coordinates (y grows downwards).
    struct Box: Equatable {
        var x0, y0, x1, y1: Double

        func intersects(_ other: Box) -> Bool {
            x0 < other.x1 && other.x0 < x1 && y0 < other.y1 && other.y0 < y1
        }

        func contains(_ x: Double, _ y: Double) -> Bool { x >= x0 && x <= x1 && y >= y0 && y <= y1 }

        /// Whether the segment from (ax, ay) to (bx, by) passes through the box
        /// (Liang-Barsky clipping).
        func intersects(segmentFrom ax: Double, _ ay: Double, to bx: Double, _ by: Double) -> Bool {
            var t0 = 0.0, t1 = 1.0
            let dx = bx - ax, dy = by - ay
            for (p, q) in [(-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)] {
                if p == 0 {
                    if q < 0 { return false }
                } else {
                    let t = q / p
                    if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
                    if t0 > t1 { return false }
                }
            }
            return true
        }
    }

    /// The width a label of `text` takes at `fontSize`: 0.6 em per character, wider than
    /// Helvetica's and DejaVu Sans's average advance, so that boxes over-cover the text.
    static func textWidth(_ text: String, fontSize: Double) -> Double { Double(text.count) * fontSize * 0.6 }

    /// The box of a horizontal label whose baseline starts (anchor `start`), centres
    /// (`middle`) or ends (`end`) at (x, y).
    static func box(_ text: String, x: Double, y: Double, anchor: String, fontSize: Double) -> Box {
        let w = textWidth(text, fontSize: fontSize)
        let left = anchor == "end" ? x - w : anchor == "middle" ? x - w / 2 : x
        return Box(x0: left, y0: y - fontSize, x1: left + w, y1: y + fontSize * 0.3)
    }

    /// The boxes of a label rotated by `degrees` about its start (x, y): one per
    /// character cell along the baseline.
    static func rotatedBoxes(_ text: String, x: Double, y: Double, degrees: Double, fontSize: Double) -> [Box] {
        let advance = fontSize * 0.6, c = cos(degrees * .pi / 180), s = sin(degrees * .pi / 180)
        return (0..<text.count).map { i in
            // The cell's centre, half a font size above the baseline.
            let along = (Double(i) + 0.5) * advance, up = -fontSize * 0.4
            let cx = x + along * c - up * s, cy = y + along * s + up * c
            let half = fontSize * 0.55
            return Box(x0: cx - half, y0: cy - half, x1: cx + half, y1: cy + half)
        }
    }

    /// What labels must keep clear of, and the labels placed so far.
    struct Layout {
        var area: Box
        var boxes: [Box] = []
        var segments: [(Double, Double, Double, Double)] = []
        /// The points' squares: a label avoids covering them when it can.
        var points: [Box] = []

        func fits(_ box: Box, clearOfPoints: Bool = false) -> Bool {
            area.contains(box.x0, box.y0) && area.contains(box.x1, box.y1)
                && !boxes.contains(where: { $0.intersects(box) })
                && !segments.contains(where: { box.intersects(segmentFrom: $0.0, $0.1, to: $0.2, $0.3) })
                && (!clearOfPoints || !points.contains(where: { $0.intersects(box) }))
        }
    }

    /// The chart for `analysis`, titled with the run `report` describes (model, batch,
    /// optimizer, precision, GPU).
    public static func render(_ analysis: RooflineAnalysis, report: RooflineReport, labelled: Int = 8) -> String {
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

        let width = 1000.0, height = 700.0
        let left = 118.0, right = 40.0, top = 90.0, bottom = 80.0
        let plotW = width - left - right, plotH = height - top - bottom
        func x(_ v: Double) -> Double { left + (log10(v) - log10(xMin)) / (log10(xMax) - log10(xMin)) * plotW }
        func y(_ v: Double) -> Double { top + plotH - (log10(max(v, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        // A label drawn over points: a white halo under the glyphs keeps it readable.
        let halo = "stroke=\"white\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\""

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>

        """
        let run = "\(report.model), " + RooflineRenderer.run(report).replacingOccurrences(of: ", checkpoint none", with: "")
        let title = TextTable.shortened("\(run) on \(roof.gpu.name): step lower bound \(RooflineRenderer.seconds(analysis.stepTime))", to: 95)
        svg += "<text x=\"\(f(width / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<text x=\"\(f(width / 2))\" y=\"50\" text-anchor=\"middle\" fill=\"#555\">Roofline (log-log): one point per operator, area proportional to its share of the step time</text>\n"
        let kinds = RooflineRenderer.kinds(report).prefix(6).map { "\($0.op) \(RooflineRenderer.percent($0.share))" }
        if !kinds.isEmpty {
            let line = TextTable.shortened("time by kind: " + kinds.joined(separator: ", "), to: 130)
            svg += "<text x=\"\(f(width / 2))\" y=\"70\" text-anchor=\"middle\" fill=\"#555\" font-size=\"12\">\(escape(line))</text>\n"
        }

        // Grid and ticks at decades, one spelling per axis: 0.01, 1, 100, 1K, 10K and
        // 1 GFLOP/s, 10 GFLOP/s, 100 GFLOP/s, 1 TFLOP/s.
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

        let maxRadius = 34.0, minRadius = 2.5
        let ordered = plotted.sorted { $0.time > $1.time }
        let largest = ordered.first?.time ?? 1
        func radius(_ p: Point) -> Double { max(minRadius, maxRadius * (p.time / largest).squareRoot()) }

        // The roofs: bandwidth diagonal up to each peak, then flat.
        var layout = Layout(area: Box(x0: left + 2, y0: top + 2, x1: left + plotW - 2, y1: top + plotH - 2))
        layout.points = ordered.map { p in
            let r = radius(p), px = x(p.intensity), py = y(p.performance)
            return Box(x0: px - r, y0: py - r, x1: px + r, y1: py + r)
        }
        let start = max(xMin, yMin / bandwidth)
        func roofPath(_ p: Double) -> String {
            "M \(f(x(start))) \(f(y(start * bandwidth))) L \(f(x(p / bandwidth))) \(f(y(p))) L \(f(x(xMax))) \(f(y(p)))"
        }
        for p in Set([vector, peak]) {
            layout.segments.append((x(start), y(start * bandwidth), x(p / bandwidth), y(p)))
            layout.segments.append((x(p / bandwidth), y(p), x(xMax), y(p)))
        }
        layout.segments.append((x(ridge), y(peak), x(ridge), top + plotH))
        let showsVector = abs(vector - peak) > peak * 1e-9
        if showsVector {
            svg += "<path d=\"\(roofPath(vector))\" fill=\"none\" stroke=\"#888\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
        }
        svg += "<path d=\"\(roofPath(peak))\" fill=\"none\" stroke=\"#111\" stroke-width=\"2.5\"/>\n"
        svg += "<line x1=\"\(f(x(ridge)))\" y1=\"\(f(y(peak)))\" x2=\"\(f(x(ridge)))\" y2=\"\(f(top + plotH))\" stroke=\"#c00\" stroke-dasharray=\"3 3\"/>\n"

        // Labels of the roofs, placed first: they claim their boxes before any point label.
        // Each takes the first of its spots clear of the lines, the other labels and the
        // points, else the first clear of lines and labels, else its first spot.
        var roofLabels = ""
        /// `texts`: the label, then shorter forms of it, tried where the long one finds no place.
        func roofLabel(_ texts: [String], _ spots: [(Double, Double, String)], attributes: String) {
            func at(_ text: String, _ spot: (Double, Double, String)) -> Box { box(text, x: spot.0, y: spot.1, anchor: spot.2, fontSize: 13) }
            var chosen: (String, (Double, Double, String))?
            search: for clearOfPoints in [true, false] {
                for text in texts {
                    if let spot = spots.first(where: { layout.fits(at(text, $0), clearOfPoints: clearOfPoints) }) {
                        chosen = (text, spot)
                        break search
                    }
                }
            }
            let (text, spot) = chosen ?? (texts[texts.count - 1], spots[0])
            layout.boxes.append(at(text, spot))
            roofLabels += "<text class=\"label\" x=\"\(f(spot.0))\" y=\"\(f(spot.1))\" text-anchor=\"\(spot.2)\" \(attributes) \(halo)>\(escape(text))</text>\n"
        }
        let formatName = analysis.mainFormat.rawValue
        // Corner labels first: they have the fewest places to go.
        roofLabel(["memory-bound ←"], [(left + 10, top + 20, "start"), (left + 10, top + plotH - 10, "start")], attributes: "fill=\"#d9480f\"")
        roofLabel(["→ compute-bound"], [(left + plotW - 10, top + 20, "end"), (left + plotW - 10, y(peak) + 30, "end"), (left + plotW - 10, top + plotH - 28, "end")],
                  attributes: "fill=\"#1c5fb8\"")
        // The matrix peak above its flat roof at the right end, else right of the knee,
        // else below the roof.
        roofLabel(["\(formatName) matrix peak \(RooflineRenderer.rate(peak)) (dense)", "\(formatName) peak \(RooflineRenderer.rate(peak))"],
                  [(x(xMax) - 6, y(peak) - 8, "end"), (x(ridge) + 10, y(peak) - 8, "start"), (x(xMax) - 6, y(peak) + 18, "end"),
                   (x(ridge) - 10, y(peak) - 8, "end"), (x(xMax) - 6, y(peak) - 26, "end")],
                  attributes: "font-weight=\"bold\"")
        if showsVector {
            let knee = x(vector / bandwidth)
            roofLabel(["vector (element-wise) peak \(RooflineRenderer.rate(vector))", "vector peak \(RooflineRenderer.rate(vector))"],
                      [(x(xMax) - 6, y(vector) - 6, "end"), (x(xMax) - 6, y(vector) + 17, "end"), (knee + 10, y(vector) + 17, "start"),
                       (x(xMax) - 6, y(vector) + 34, "end")],
                      attributes: "fill=\"#555\"")
        }
        roofLabel(["ridge \(Units.format(ridge)) FLOP/B"], [(x(ridge) + 6, top + plotH - 8, "start"), (x(ridge) - 6, top + plotH - 8, "end"),
                                                          (x(ridge) + 6, top + plotH - 26, "start"), (x(ridge) - 6, top + plotH - 26, "end")],
                  attributes: "fill=\"#c00\"")
        // Bandwidth along the diagonal.
        let bandwidthText = "memory \(Units.si(bandwidth, unit: "B/s"))"
        let angle = atan2(y(start * 10 * bandwidth) - y(start * bandwidth), x(start * 10) - x(start)) * 180 / .pi
        // Positions along the diagonal from a decade or more left of the ridge down to its
        // start, then up towards the ridge; the first clear of the points and the other
        // labels, else the first clear of the labels.
        var spots: [Double] = []
        var along = max(start * 3, min(ridge / 30, xMax))
        while along > start * 1.2 { spots.append(along); along /= 1.25 }
        along = max(start * 3, min(ridge / 30, xMax)) * 1.25
        while along < ridge / 3 { spots.append(along); along *= 1.25 }
        let lift = 11.0
        func clear(_ at: Double, ofPoints: Bool) -> Bool {
            rotatedBoxes(bandwidthText, x: x(at), y: y(at * bandwidth) - lift, degrees: angle, fontSize: 13).allSatisfy { cell in
                layout.fits(cell, clearOfPoints: ofPoints)
            }
        }
        let labelAt = spots.first { clear($0, ofPoints: true) } ?? spots.first { clear($0, ofPoints: false) } ?? max(start * 3, min(ridge / 30, xMax))
        let bandwidthCells = rotatedBoxes(bandwidthText, x: x(labelAt), y: y(labelAt * bandwidth) - lift, degrees: angle, fontSize: 13)
        layout.boxes += bandwidthCells
        roofLabels += "<text class=\"label\" transform=\"translate(\(f(x(labelAt))) \(f(y(labelAt * bandwidth) - lift))) rotate(\(f(angle)))\" fill=\"#333\" \(halo)>\(escape(bandwidthText))</text>\n"

        // Legend, top left under the corner label.
        let lx = left + 14, ly = top + 44
        let legend = Box(x0: lx - 6, y0: ly - 14, x1: lx + 244, y1: ly + 34)
        layout.boxes.append(legend)

        // Points, largest first so small ones stay visible on top.
        for p in ordered {
            let share = total > 0 ? p.time / total : 0
            // Area proportional to the share of time, the largest point at maxRadius.
            let memoryBound = p.computeTime < p.time * 0.999
            let colour = memoryBound ? "#f08c00" : "#1c7ed6"
            let title = "\(p.name) (\(p.op)): \(Units.format(p.intensity)) FLOP/B, \(RooflineRenderer.rate(p.performance)), "
                + "\(RooflineRenderer.seconds(p.time)), \(RooflineRenderer.percent(share)) of the time"
            svg += "<circle cx=\"\(f(x(p.intensity)))\" cy=\"\(f(y(p.performance)))\" r=\"\(f(radius(p)))\" fill=\"\(colour)\" "
                + "fill-opacity=\"0.45\" stroke=\"\(colour)\"><title>\(escape(title))</title></circle>\n"
        }

        // Names of the heaviest; operators drawn at the same spot (the same layer in every
        // block) form one group with one label and a count, and groups are named in order
        // of their whole share. Each label tries positions around its point, nearest
        // first, clear of the other points if it can; far ones get a leader line.
        struct Group { var first: Point; var count: Int; var time: Double }
        var groups: [Group] = []
        for p in ordered {
            let px = x(p.intensity), py = y(p.performance)
            if let i = groups.firstIndex(where: { $0.first.op == p.op && abs(x($0.first.intensity) - px) < 1.5 && abs(y($0.first.performance) - py) < 1.5 }) {
                groups[i].count += 1
                groups[i].time += p.time
            } else {
                groups.append(Group(first: p, count: 1, time: p.time))
            }
        }
        groups.sort { $0.time > $1.time }
        var pointLabels = ""
        for group in groups.prefix(labelled) {
            let p = group.first
            let px = x(p.intensity), py = y(p.performance)
            let share = group.time / max(total, .leastNonzeroMagnitude)
            let percent = RooflineRenderer.percent(share)
            // The full label, then a shorter one where it finds no place.
            let texts = group.count > 1 ? ["\(p.op) x\(group.count) (e.g. \(p.name)) \(percent)", "\(p.op) x\(group.count) \(percent)"]
                : [p.name + " " + percent, TextTable.shortened(p.name, to: 24) + " " + percent]
            let r = radius(p)
            var chosen: (x: Double, y: Double, anchor: String, box: Box, far: Bool, text: String)?
            // The point's own square does not count against its label.
            var others = layout
            others.points.removeAll { $0.contains(px, py) }
            search: for clearOfPoints in [true, false] {
                for text in texts {
                    for gap in [4.0, 14.0, 28.0, 48.0, 76.0, 110.0] {
                        let d = r + gap
                        // Right, left, above, below, then the diagonals.
                        let candidates: [(Double, Double, String)] = [
                            (px + d, py + 4, "start"), (px - d, py + 4, "end"), (px, py - d, "middle"), (px, py + d + 10, "middle"),
                            (px + d * 0.7, py - d * 0.7, "start"), (px - d * 0.7, py - d * 0.7, "end"),
                            (px + d * 0.7, py + d * 0.7 + 10, "start"), (px - d * 0.7, py + d * 0.7 + 10, "end"),
                        ]
                        for (cx, cy, anchor) in candidates {
                            let b = box(text, x: cx, y: cy, anchor: anchor, fontSize: 12)
                            if others.fits(b, clearOfPoints: clearOfPoints) {
                                chosen = (cx, cy, anchor, b, gap > 14, text)
                                break search
                            }
                        }
                    }
                }
            }
            guard let label = chosen else { continue }
            layout.boxes.append(label.box)
            if label.far {
                // A leader from the point's edge to the nearest side of the label.
                let tx = min(max(px, label.box.x0), label.box.x1), ty = min(max(py, label.box.y0), label.box.y1)
                let dx = tx - px, dy = ty - py, length = max(1, (dx * dx + dy * dy).squareRoot())
                pointLabels += "<line x1=\"\(f(px + dx / length * r))\" y1=\"\(f(py + dy / length * r))\" x2=\"\(f(tx))\" y2=\"\(f(ty))\" stroke=\"#999\" stroke-width=\"0.8\"/>\n"
            }
            pointLabels += "<text class=\"label\" x=\"\(f(label.x))\" y=\"\(f(label.y))\" text-anchor=\"\(label.anchor)\" font-size=\"12\" fill=\"#222\" \(halo)>\(escape(label.text))</text>\n"
        }
        svg += pointLabels + roofLabels
        svg += "<circle cx=\"\(f(x(ridge)))\" cy=\"\(f(y(peak)))\" r=\"4\" fill=\"#c00\"/>\n"
        // Legend.
        svg += "<rect x=\"\(f(legend.x0))\" y=\"\(f(legend.y0))\" width=\"\(f(legend.x1 - legend.x0))\" height=\"\(f(legend.y1 - legend.y0))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
        svg += "<circle cx=\"\(f(lx + 4))\" cy=\"\(f(ly - 2))\" r=\"5\" fill=\"#1c7ed6\" fill-opacity=\"0.45\" " +
            "stroke=\"#1c7ed6\"/><text x=\"\(f(lx + 16))\" y=\"\(f(ly + 2))\">compute-bound operator</text>\n"
        svg += "<circle cx=\"\(f(lx + 4))\" cy=\"\(f(ly + 18))\" r=\"5\" fill=\"#f08c00\" fill-opacity=\"0.45\" " +
            "stroke=\"#f08c00\"/><text x=\"\(f(lx + 16))\" y=\"\(f(ly + 22))\">memory-bound operator</text>\n"
        svg += "</svg>\n"
        return svg
    }

    /// Decade tick labels. Intensity: `0.001`, `0.1`, `1`, `100`, then `1K`, `10K`, `1M`; performance: `1 GFLOP/s`, `10 GFLOP/s`, `100 GFLOP/s`, `1 TFLOP/s`.
    static func tick(_ v: Double, unit: String) -> String {
        if unit.isEmpty {
            for (scale, suffix) in [(1e6, "M"), (1e3, "K")] where v >= scale * 0.999 {
                return "\(Int((v / scale).rounded()))\(suffix)"
            }
            if v >= 1 { return String(Int(v.rounded())) }
            return String(format: "%g", v)
        }
        for (scale, prefix) in Units.siPrefixes where v >= scale * 0.999 {
            return "\(Int((v / scale).rounded())) \(prefix)\(unit)"
        }
        return "\(Int(v.rounded())) \(unit)"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
