import FuzzDriver
import Vitals

/// The YAML configuration loader and every source's validation on arbitrary text: errors are
/// fine, crashes and hangs are not.
let keys = VitalsConfiguration.allKeys

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    if let values = try? ConfigurationLoader(keys: keys).load(flags: [], environment: [:], file: ("fuzz.yml", text)) {
        _ = try? VitalsConfiguration(values: values)
        for factory in SourceCatalog.factories { try? factory.validate(values: values) }
    }
    return 0
}

// SwiftPM links an executable target's entry point as `FuzzConfiguration_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzConfiguration_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
