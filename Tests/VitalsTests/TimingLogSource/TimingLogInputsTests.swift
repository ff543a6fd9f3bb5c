import Foundation
import Testing

@testable import Vitals

/// `timing-log.inputs`: several logs with a format each, from the YAML file.
@Suite struct TimingLogInputsTests {
    func load(flags: [(String, String)] = [], yaml: String? = nil) throws -> ConfigurationValues {
        try ConfigurationLoader(keys: VitalsConfiguration.allKeys).load(flags: flags, environment: [:], file: yaml.map { ("vitals.yml", $0) })
    }

    @Test func twoInputsWithTheirOwnFormatsAndOptions() throws {
        let values = try load(yaml: """
            timing-log:
              slow-threshold: 300ms
              inputs:
                - path: /var/log/nginx/access.log
                  format: nginx
                  nginx:
                    upstream-time: logged
                - name: app
                  path: [/var/log/app/app.log, /var/log/app/worker.log]
                  format: json
                  json.duration-field: elapsed
                  duration-unit: s
                  from-beginning: true
            """)
        let inputs = try TimingLogConfiguration.inputs(values: values)
        try #require(inputs.count == 2)
        #expect(inputs[0].inputName == "nginx" && inputs[0].format == .nginx && inputs[0].paths == ["/var/log/nginx/access.log"])
        #expect((inputs[0].parser as? NginxLineParser)?.upstreamTime == .logged)
        #expect(inputs[0].fromBeginning == false)
        #expect(inputs[1].inputName == "app" && inputs[1].format == .json && inputs[1].paths.count == 2 && inputs[1].fromBeginning)
        #expect((inputs[1].parser as? JSONLineParser)?.configuration.durationField == "elapsed")
        #expect((inputs[1].parser as? JSONLineParser)?.configuration.durationUnit == .seconds)
        // Shared settings apply to every input; one label set for the shared families.
        #expect(inputs.allSatisfy { $0.slowThreshold == 0.3 && $0.statusLabel })
    }

    @Test func aStatuslessFormatNextToOneWithStatusGetsTheLabelToo() throws {
        let inputs = try TimingLogConfiguration.inputs(values: try load(yaml: """
            timing-log.inputs:
              - {path: /a.log, format: starlette}
              - {path: /b.log, format: caddy}
            """))
        #expect(inputs.map(\.statusLabel) == [true, true])
        #expect(inputs.map(\.parser.hasStatus) == [false, true])
        #expect(inputs.map(\.inputName) == ["starlette", "caddy"])
    }

    @Test func oneInputKeepsTheSingleLogLabels() throws {
        let one = try TimingLogConfiguration.inputs(values: try load(yaml: "timing-log.inputs: [{path: /a.log, format: starlette}]"))
        #expect(one.count == 1 && one[0].inputName == nil && one[0].statusLabel == false)
        let flags = try TimingLogConfiguration.inputs(values: try load(flags: [("timing-log.path", "-"), ("timing-log.format", "haproxy")]))
        #expect(flags.count == 1 && flags[0].inputName == nil && flags[0].paths == ["-"] && flags[0].format == .haproxy)
        #expect(try TimingLogConfiguration.inputs(values: try load()).isEmpty)
    }

    @Test func mistakesNameTheInputAndTheKey() throws {
        func error(_ yaml: String, flags: [(String, String)] = []) -> ConfigurationError? {
            do {
                _ = try TimingLogConfiguration.inputs(values: try load(flags: flags, yaml: yaml))
                return nil
            } catch let error as ConfigurationError {
                return error
            } catch {
                return nil
            }
        }
        #expect(error("timing-log.inputs: [{path: /a.log, format: iis}]")?.key == "timing-log.inputs[0].format")
        #expect(error("timing-log.inputs: [{path: /a.log}, {format: nginx}]")?.key == "timing-log.inputs[1].path")
        #expect(error("timing-log.inputs: [{path: /a.log, buckets: [1]}]")?.key == "timing-log.inputs[0].buckets")
        #expect(error("timing-log.inputs: [{path: /a.log, fromat: nginx}]")?.code == .unknownKey)
        #expect(error("timing-log.inputs: [/a.log]")?.key == "timing-log.inputs[0]")
        #expect(error("timing-log.inputs: [{path: /a.log}, {path: /b.log}]")?.message.contains("'starlette'") == true)
        #expect(error("timing-log.inputs: [{path: /a.log, name: x}, {path: /b.log, name: x}]") != nil)
        #expect(error("timing-log.inputs: [{path: /a.log, format: regex, regex: '('}]")?.key == "timing-log.inputs[0].regex")
        #expect(error("timing-log.inputs: [{path: /a.log}]", flags: [("timing-log.path", "/b.log")])?.key == "timing-log.inputs")
        #expect(throws: ConfigurationError.self) { try load(flags: [("timing-log.inputs", "/a.log")]) }
        #expect(error("timing-log.inputs: [{path: '-', name: a}, {path: [/b.log, '-'], name: b}]")?.message.contains("standard input") == true)
    }
}
