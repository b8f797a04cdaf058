/// Aligned plain-text and Markdown tables.
struct TextTable {
    public enum Alignment { case left, right }
    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(headers: [String], alignments: [Alignment]) {
        self.headers = headers
        self.alignments = alignments
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    /// `text` cut to at most `limit` characters, ending in `…` when cut.
    public static func shortened(_ text: String, to limit: Int) -> String {
        guard limit > 1, text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// Columns padded to their widest cell (in Characters), two spaces apart, trailing
    /// spaces trimmed. Written byte by byte: a 10,000-row table spent most of its time in
    /// Character counting, padding strings and joins. Printable-ASCII cells (all of the numbers,
    /// and the names of every zoo model) are measured by their bytes; a line with any other
    /// text is measured and trimmed by Characters, as before.
    /// A byte that is one Character on its own (CR LF is one Character of two bytes).
    static func isPrintableASCII(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }

    public func render() -> String {
        // Each cell measured once: its width and whether it is printable ASCII.
        func measure(_ cell: String) -> (width: Int, ascii: Bool) {
            var cell = cell
            let ascii = cell.withUTF8 { $0.allSatisfy(Self.isPrintableASCII) }
            return (ascii ? cell.utf8.count : cell.count, ascii)
        }
        let headerCells = headers.map(measure)
        var rowCells: [(width: Int, ascii: Bool)] = []
        rowCells.reserveCapacity(rows.count * headers.count)
        var widths = headerCells.map(\.width)
        for row in rows {
            for (i, cell) in row.enumerated() {
                let measured = measure(cell)
                rowCells.append(measured)
                if i < widths.count { widths[i] = max(widths[i], measured.width) }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((widths.reduce(0, +) + 2 * widths.count + 1) * (rows.count + 2))
        let space = UInt8(ascii: " ")
        // Bytes through their buffers: `append(contentsOf: cell.utf8)` walks the view and
        // `repeatElement` pads element by element (250 instructions a cell between them).
        let spaces = [UInt8](repeating: space, count: max(1, widths.max() ?? 0))
        func pad(_ count: Int) {
            guard count > 0 else { return }
            spaces.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<count])) }
        }
        func write(_ cell: String) {
            var cell = cell
            cell.withUTF8 { out.append(contentsOf: $0) }
        }
        func line(_ cells: [String], _ measured: ArraySlice<(width: Int, ascii: Bool)>) {
            let start = out.count
            var ascii = true
            for (i, cell) in cells.enumerated() {
                if i > 0 { out.append(space); out.append(space) }
                let (cellWidth, cellASCII) = measured[measured.startIndex + i]
                if !cellASCII { ascii = false }
                // The last column, left-aligned, needs no padding (it would be trimmed).
                if i == cells.count - 1 && alignments[i] == .left { write(cell); continue }
                let padding = max(0, widths[i] - cellWidth)
                if alignments[i] == .right { pad(padding) }
                write(cell)
                if alignments[i] == .left { pad(padding) }
            }
            if ascii {
                while out.count > start, out[out.count - 1] == space { out.removeLast() }
            } else {
                var text = String(decoding: out[start...], as: UTF8.self)
                while text.hasSuffix(" ") { text.removeLast() }
                out.removeSubrange(start...)
                out.append(contentsOf: text.utf8)
            }
            out.append(UInt8(ascii: "\n"))
        }
        line(headers, headerCells[...])
        for (i, columnWidth) in widths.enumerated() {
            if i > 0 { out.append(space); out.append(space) }
            out.append(contentsOf: repeatElement(UInt8(ascii: "-"), count: columnWidth))
        }
        out.append(UInt8(ascii: "\n"))
        var offset = 0
        for row in rows {
            line(row, rowCells[offset..<(offset + row.count)])
            offset += row.count
        }
        return String(decoding: out, as: UTF8.self)
    }

    public func renderMarkdown() -> String {
        func escape(_ s: String) -> String { s.replacingAll("|", with: "\\|") }
        var out = "| " + headers.map(escape).joined(separator: " | ") + " |\n"
        out += "|" + alignments.map { $0 == .left ? "---|" : "---:|" }.joined() + "\n"
        for row in rows { out += "| " + row.map(escape).joined(separator: " | ") + " |\n" }
        return out
    }
}

/// RFC 4180 CSV.
enum CSV {
    public static func field(_ s: String) -> String {
        s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
            ? "\"" + s.replacingAll("\"", with: "\"\"") + "\"" : s
    }

    public static func render(headers: [String], rows: [[String]]) -> String {
        ([headers] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
