import PGClientBench

// One case of the bench on libpq; run.sh runs one process per case (see Options for the flags).
benchMain(client: { _ in "libpq" }) { options in
    { _ in try LibpqSessionQueries(socketDirectory: options.socketDirectory, database: options.database, user: options.user) }
}
