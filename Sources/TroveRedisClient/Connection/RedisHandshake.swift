import NIOCore

/// What a new connection says before it carries commands: `HELLO 3` (with `AUTH` and
/// `SETNAME`) where the server has it, else `AUTH` and `CLIENT SETNAME` in RESP2; then
/// `SELECT` for a database other than 0, and `READONLY` for a cluster's reads from replicas.
struct RedisHandshake {
    let configuration: RedisClient.Configuration
    /// The channel's handler, which sends the handshake's commands and hands back their replies.
    let handler: NIOLoopBound<RedisChannelHandler>

    func run() -> EventLoopFuture<Void> {
        let eventLoop = handler.eventLoop
        let handler = self.handler
        let configuration = self.configuration
        let start: EventLoopFuture<Bool>  // whether HELLO did authentication and naming
        if configuration.prefersRESP3 {
            start = handler.value.sendHandshake(hello()).flatMapThrowing { reply in
                if case .error(let error) = reply {
                    if error.prefix == "NOPROTO" || error.message.lowercased().contains("unknown command") { return false }
                    throw Self.failure(error, configuration)
                }
                return true
            }
        } else {
            start = eventLoop.makeSucceededFuture(false)
        }
        return start.flatMap { helloDidAll -> EventLoopFuture<Void> in
            var steps: [RedisCommand] = []
            if !helloDidAll {
                if let password = configuration.password {
                    if let username = configuration.username {
                        steps.append(RedisCommand("AUTH", username, password))
                    } else {
                        steps.append(RedisCommand("AUTH", password))
                    }
                }
                if let name = configuration.clientName { steps.append(RedisCommand("CLIENT", "SETNAME", name)) }
            }
            if configuration.database != 0 { steps.append(RedisCommand("SELECT", configuration.database)) }
            if configuration.sendsReadOnly { steps.append(RedisCommand("READONLY")) }
            var chain = eventLoop.makeSucceededVoidFuture()
            for step in steps {
                chain = chain.flatMap { handler.value.sendHandshake(step) }.flatMapThrowing { reply in
                    if case .error(let error) = reply { throw Self.failure(error, configuration) }
                }
            }
            return chain
        }
    }

    private func hello() -> RedisCommand {
        let auth = configuration.password.map { (configuration.username ?? "default", $0) }
        let count = 1 + (auth == nil ? 0 : 3) + (configuration.clientName == nil ? 0 : 2)
        return RedisCommand("HELLO", argumentCount: count) { writer in
            writer.append("3")
            if let auth {
                writer.append("AUTH")
                writer.append(auth.0)
                writer.append(auth.1)
            }
            if let name = configuration.clientName {
                writer.append("SETNAME")
                writer.append(name)
            }
        }
    }

    static func failure(_ error: RedisServerError, _ configuration: RedisClient.Configuration) -> RedisClientError {
        let authentication = ["WRONGPASS", "NOAUTH", "NOPERM"].contains(error.prefix)
            || error.message.contains("invalid password") || error.message.contains("AUTH")
        if authentication {
            return RedisClientError(.authenticationFailed, "\(configuration) refused the credentials: \(error.message)", serverError: error)
        }
        return RedisClientError(.connectFailed, "\(configuration) refused the handshake: \(error.message)", serverError: error)
    }
}
