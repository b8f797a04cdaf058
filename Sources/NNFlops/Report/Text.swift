#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// printf-style formatting of numbers through the C library (`%.2f`, `%.3g`, `%+.4f`,
    /// `%.2e`): the text `String(format:)` gives for these conversions, without linking
    /// Foundation and its ICU data (README, "Speed"). Swift never calls `setlocale`, so
    /// the C locale applies: `.` as the decimal point, no grouping.
    init(cFormat format: String, _ arguments: CVarArg...) {
        var capacity = 64
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let needed = withVaList(arguments) { vsnprintf(&buffer, capacity, format, $0) }
            guard needed >= 0 else { self = ""; return }
            if Int(needed) < capacity {
                self = String(decoding: buffer.prefix(Int(needed)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return
            }
            capacity = Int(needed) + 1
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs: what Foundation's
    /// `trimmingWhitespace()` removes (Unicode category Zs and U+0009),
    /// scalar by scalar.
    public func trimmingWhitespace() -> String {
        func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// File-name parts of a path, as `NSString`'s `lastPathComponent` and `pathExtension`
/// give them: repeated slashes count as one, a trailing slash is ignored, a leading dot
/// does not start an extension.
public enum PathText {
    /// `a//b/` -> `a/b`; `/` stays `/`.
    public static func fixingSlashes(_ path: String) -> String {
        var result = ""
        var previousWasSlash = false
        for character in path {
            if character == "/" {
                if previousWasSlash { continue }
                previousWasSlash = true
            } else {
                previousWasSlash = false
            }
            result.append(character)
        }
        if result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// `models/resnet.spec` -> `resnet.spec`.
    public static func lastComponent(of path: String) -> String {
        let fixed = fixingSlashes(path)
        guard fixed.count > 1 else { return fixed }
        guard let slash = fixed.lastIndex(of: "/") else { return fixed }
        return String(fixed[fixed.index(after: slash)...])
    }

    /// `models/resnet.onnx` -> `onnx`; `.hidden` and `..` -> "".
    public static func pathExtension(of path: String) -> String {
        let fixed = fixingSlashes(path)
        guard fixed.count > 1 else { return "" }
        let component = lastComponent(of: fixed)
        guard component != "..", let dot = component.lastIndex(of: "."), dot != component.startIndex else { return "" }
        return String(component[component.index(after: dot)...])
    }

    /// The directory part: `out/chart.svg` -> `out`, `/chart.svg` -> `/`, `chart.svg` -> "".
    public static func deletingLastComponent(of path: String) -> String {
        let fixed = fixingSlashes(path)
        guard let slash = fixed.lastIndex(of: "/") else { return "" }
        return slash == fixed.startIndex ? "/" : String(fixed[..<slash])
    }
}

extension FileManager {
    /// Whether `path` names a directory (false when nothing is there).
    func isDirectory(atPath path: String) -> Bool {
        #if canImport(FoundationEssentials)
        var directory = false
        return fileExists(atPath: path, isDirectory: &directory) && directory
        #else
        var directory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
        #endif
    }
}

extension BinaryInteger {
    /// The digits in groups of three, `203,530`: what `formatted(.number.grouping(.automatic))`
    /// prints in the default locale, without Foundation's ICU data.
    public var groupedDigits: String {
        let digits = String(self.magnitude)
        var result = self < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }
}

extension StringProtocol {
    /// Every occurrence of `target` replaced, left to right, matching whole characters:
    /// what Foundation's `replacingOccurrences(of:with:)` does for the plain text
    /// replaced here (`_`, `|`, `"`, `e+`, markup characters).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard let targetFirst = target.first else { return String(self) }
        var result = ""
        var rest = self[...]
        while let first = rest.first {
            if first == targetFirst, rest.hasPrefix(target) {
                result += replacement
                rest = rest.dropFirst(target.count)
            } else {
                result.append(first)
                rest = rest.dropFirst()
            }
        }
        return result
    }
}

extension String {
    /// The line broken at spaces into lines of at most `width` characters, for an
    /// 80-column terminal: the first line keeps its own indentation, the others start with
    /// `continuation` (the column the text began in). A word longer than the room is kept
    /// whole on its own line: a line breaks only at a space.
    func wrapped(width: Int = 80, continuation: String) -> [String] {
        var lines: [String] = []
        var rest = Substring(self)
        var prefix = ""
        // The leading spaces and the label (`  bound            `) are never broken.
        let body = rest.firstIndex { $0 != " " } ?? rest.endIndex
        var unbreakable = rest.distance(from: rest.startIndex, to: body)
        while prefix.count + rest.count > width {
            let room = max(width - prefix.count, 1)
            let limit = rest.index(rest.startIndex, offsetBy: room, limitedBy: rest.endIndex) ?? rest.endIndex
            let searchFrom = rest.index(rest.startIndex, offsetBy: min(unbreakable, rest.count))
            // The last space within the room (one just past it is a break too), else the
            // first after it.
            let end = limit < rest.endIndex ? rest.index(after: limit) : rest.endIndex
            let breakAt = searchFrom < end ? rest[searchFrom..<end].lastIndex(of: " ") : nil
            guard let at = breakAt ?? rest[searchFrom...].firstIndex(of: " ") else { break }
            var line = prefix + rest[..<at]
            while line.last == " " { line.removeLast() }
            lines.append(line)
            rest = rest[at...].drop { $0 == " " }
            prefix = continuation
            unbreakable = 0
        }
        lines.append(prefix + rest)
        return lines
    }

    /// Where a wrapped line's continuation starts: under the text after a label column
    /// (`  step FLOPs       text`: the first run of two or more spaces after the
    /// indentation, within the first 40 columns), else two columns in from the line's own
    /// indentation.
    var hangingIndent: String {
        let characters = Array(self)
        var i = 0
        while i < characters.count, characters[i] == " " { i += 1 }
        let indent = i
        var column = indent + 2
        while i + 1 < min(characters.count, 40) {
            if characters[i] == " ", characters[i + 1] == " " {
                var j = i
                while j < characters.count, characters[j] == " " { j += 1 }
                if j < characters.count { column = j }
                break
            }
            i += 1
        }
        return String(repeating: " ", count: column)
    }
}
