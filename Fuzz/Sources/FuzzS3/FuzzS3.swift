// Fuzzes what the S3 client parses from a server's answers: XML bodies (S3XMLElement), the
// dates of listings and headers (S3Dates), and the Retry-After header: no crash on any input;
// an element tree written back with escaped text parses to the same tree.
//
// Input: the bytes of a body or header value.
import Foundation
import FuzzSupport
@testable import TroveS3Client

/// `element` written back as XML, its text escaped (text before its children).
func written(_ element: S3XMLElement) -> String {
    "<\(element.name)>" + S3XMLElement.escape(element.text) + element.children.map(written).joined() + "</\(element.name)>"
}

/// Whether two trees have the same names, texts and children.
func same(_ a: S3XMLElement, _ b: S3XMLElement) -> Bool {
    a.name == b.name && a.text == b.text && a.children.count == b.children.count && zip(a.children, b.children).allSatisfy { same($0.0, $0.1) }
}

/// Whether every text of the tree sits before its element's children (otherwise writing it
/// back moves the text, and the trees differ for that reason alone).
func textFirst(_ element: S3XMLElement) -> Bool {
    (element.children.isEmpty || element.text.isEmpty) && element.children.allSatisfy(textFirst)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = bytes(start, count)
    let text = string(input)
    if let root = S3XMLElement.parse(Data(input)), textFirst(root) {
        let again = S3XMLElement.parse(Data(written(root).utf8))
        require(again.map { same(root, $0) } == true, "the tree of \(hex(input)) written back parses otherwise")
    }
    if let date = S3Dates.parseISO8601(text) { require(date.timeIntervalSince1970.isFinite, "ISO 8601 date not finite") }
    if let date = S3Dates.parseHTTPDate(text) { require(date.timeIntervalSince1970.isFinite, "HTTP date not finite") }
    if let delay = S3Error.retryAfter(header: text, now: Date(timeIntervalSince1970: 1_800_000_000)) {
        require(delay >= .zero, "a negative Retry-After delay: \(delay)")
    }
    return 0
}
