// Real Postgres 15 log output, captured from the private test servers (scripts/test-servers.sh,
// log_line_prefix '%m [%p] %q%u@%d') and from a server with log_destination
// 'stderr,csvlog,jsonlog' and log_line_prefix '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '.
// Literals to watch for: 'SECRET-LITERAL-9137' and 987654321.
enum SlowQueryFixtures {
    /// `%m [%p] %q%u@%d `: psql simple queries (plan then statement), EXECUTE of a PREPARE,
    /// pgbench -M extended (parse, bind, execute + DETAIL parameters, then a text plan) and
    /// -M prepared with auto_explain.log_format=json.
    static let stderrSessionPrefix = """
        2026-11-24 16:46:21.082 UTC [5883] LOG:  database system was shut down at 2026-11-24 16:46:21 UTC
        2026-11-24 16:46:21.087 UTC [5880] LOG:  database system is ready to accept connections
        2026-11-24 16:46:25.639 UTC [6102] postgres@app LOG:  duration: 60.152 ms  plan:
        \tQuery Text: SELECT pg_sleep(0.06), 1 WHERE 42 = 42 AND 'SECRET-LITERAL-9137' <> 'x';
        \tResult  (cost=0.00..0.01 rows=1 width=8)
        2026-11-24 16:46:25.639 UTC [6102] postgres@app LOG:  duration: 61.021 ms  statement: SELECT pg_sleep(0.06), 1 WHERE 42 = 42 AND 'SECRET-LITERAL-9137' <> 'x';
        2026-11-24 16:46:25.700 UTC [6102] postgres@app LOG:  duration: 60.180 ms  plan:
        \tQuery Text: SELECT pg_sleep(0.06),
        \t   2 -- comment
        \t   WHERE 987654321 = 987654321;
        \tResult  (cost=0.00..0.01 rows=1 width=8)
        2026-11-24 16:46:25.700 UTC [6102] postgres@app LOG:  duration: 60.429 ms  statement: SELECT pg_sleep(0.06),
        \t   2 -- comment
        \t   WHERE 987654321 = 987654321;
        2026-11-24 16:46:25.892 UTC [6102] postgres@app LOG:  duration: 190.134 ms  plan:
        \tQuery Text: INSERT INTO sq_fixture SELECT g, 'v' || g FROM generate_series(1, 300000) g;
        \tInsert on sq_fixture  (cost=0.00..5250.00 rows=0 width=0)
        \t  ->  Function Scan on generate_series g  (cost=0.00..5250.00 rows=300000 width=36)
        2026-11-24 16:46:25.893 UTC [6102] postgres@app LOG:  duration: 191.586 ms  statement: INSERT INTO sq_fixture SELECT g, 'v' || g FROM generate_series(1, 300000) g;
        2026-11-24 16:46:25.993 UTC [6102] postgres@app LOG:  duration: 60.142 ms  plan:
        \tQuery Text: PREPARE p1(int) AS SELECT pg_sleep(0.06), $1;
        \tResult  (cost=0.00..0.01 rows=1 width=8)
        2026-11-24 16:46:25.993 UTC [6102] postgres@app LOG:  duration: 60.338 ms  statement: EXECUTE p1(987654321);
        2026-11-24 16:46:25.993 UTC [6102] postgres@app DETAIL:  prepare: PREPARE p1(int) AS SELECT pg_sleep(0.06), $1;
        2026-11-24 16:46:41.993 UTC [8440] postgres@app LOG:  duration: 0.641 ms  parse <unnamed>: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:41.993 UTC [8440] postgres@app LOG:  duration: 0.381 ms  bind <unnamed>: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:41.993 UTC [8440] postgres@app DETAIL:  parameters: $1 = '987654321'
        2026-11-24 16:46:42.037 UTC [8440] postgres@app LOG:  duration: 43.606 ms  execute <unnamed>: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:42.037 UTC [8440] postgres@app DETAIL:  parameters: $1 = '987654321'
        2026-11-24 16:46:42.037 UTC [8440] postgres@app LOG:  duration: 43.589 ms  plan:
        \tQuery Text: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        \tFinalize Aggregate  (cost=4441.21..4441.22 rows=1 width=8)
        \t  ->  Gather  (cost=4441.10..4441.21 rows=1 width=8)
        \t        Workers Planned: 1
        \t        ->  Partial Aggregate  (cost=3441.10..3441.11 rows=1 width=8)
        \t              ->  Parallel Seq Scan on sq_fixture  (cost=0.00..3439.59 rows=603 width=0)
        \t                    Filter: ((v <> 'SECRET-LITERAL-9137'::text) AND (id = 987654321))
        2026-11-24 16:46:42.075 UTC [8452] postgres@app LOG:  duration: 0.589 ms  parse P_0: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:42.076 UTC [8452] postgres@app LOG:  duration: 0.390 ms  bind P_0: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:42.076 UTC [8452] postgres@app DETAIL:  parameters: $1 = '987654321'
        2026-11-24 16:46:42.124 UTC [8452] postgres@app LOG:  duration: 48.635 ms  execute P_0: SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';
        2026-11-24 16:46:42.124 UTC [8452] postgres@app DETAIL:  parameters: $1 = '987654321'
        2026-11-24 16:46:42.124 UTC [8452] postgres@app LOG:  duration: 48.620 ms  plan:
        \t{
        \t  "Query Text": "SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';",
        \t  "Plan": {
        \t    "Node Type": "Aggregate",
        \t    "Strategy": "Plain",
        \t    "Partial Mode": "Finalize",
        \t    "Parallel Aware": false,
        \t    "Async Capable": false,
        \t    "Startup Cost": 4441.21,
        \t    "Total Cost": 4441.22,
        \t    "Plan Rows": 1,
        \t    "Plan Width": 8,
        \t    "Plans": [
        \t      {
        \t        "Node Type": "Gather",
        \t        "Parent Relationship": "Outer",
        \t        "Parallel Aware": false,
        \t        "Async Capable": false,
        \t        "Startup Cost": 4441.10,
        \t        "Total Cost": 4441.21,
        \t        "Plan Rows": 1,
        \t        "Plan Width": 8,
        \t        "Workers Planned": 1,
        \t        "Single Copy": false,
        \t        "Plans": [
        \t          {
        \t            "Node Type": "Aggregate",
        \t            "Strategy": "Plain",
        \t            "Partial Mode": "Partial",
        \t            "Parent Relationship": "Outer",
        \t            "Parallel Aware": false,
        \t            "Async Capable": false,
        \t            "Startup Cost": 3441.10,
        \t            "Total Cost": 3441.11,
        \t            "Plan Rows": 1,
        \t            "Plan Width": 8,
        \t            "Plans": [
        \t              {
        \t                "Node Type": "Seq Scan",
        \t                "Parent Relationship": "Outer",
        \t                "Parallel Aware": true,
        \t                "Async Capable": false,
        \t                "Relation Name": "sq_fixture",
        \t                "Alias": "sq_fixture",
        \t                "Startup Cost": 0.00,
        \t                "Total Cost": 3439.59,
        \t                "Plan Rows": 603,
        \t                "Plan Width": 0,
        \t                "Filter": "((v <> 'SECRET-LITERAL-9137'::text) AND (id = 987654321))"
        \t              }
        \t            ]
        \t          }
        \t        ]
        \t      }
        \t    ]
        \t  }
        \t}
        """

    /// `%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h `, with background processes' empty fields.
    static let stderrLongPrefix = """
        2026-11-24 16:47:00 UTC [9238]: [3-1] user=,db=,app=,client= LOG:  starting PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit
        2026-11-24 16:47:00 UTC [9238]: [4-1] user=,db=,app=,client= LOG:  listening on Unix socket "/tmp/sq-pg2/.s.PGSQL.5499"
        2026-11-24 16:47:00 UTC [9246]: [1-1] user=,db=,app=,client= LOG:  database system was shut down at 2026-11-24 16:47:00 UTC
        2026-11-24 16:47:00 UTC [9238]: [5-1] user=,db=,app=,client= LOG:  database system is ready to accept connections
        2026-11-24 16:47:00 UTC [9256]: [1-1] user=postgres,db=postgres,app=psql,client=[local] LOG:  duration: 14.103 ms  statement: CREATE TABLE orders(id int, note text);
        2026-11-24 16:47:00 UTC [9256]: [2-1] user=postgres,db=postgres,app=psql,client=[local] LOG:  duration: 0.678 ms  plan:
        \tQuery Text: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;
        \tInsert on orders  (cost=0.00..10.00 rows=0 width=0)
        \t  ->  Function Scan on generate_series g  (cost=0.00..10.00 rows=1000 width=36)
        2026-11-24 16:47:00 UTC [9256]: [3-1] user=postgres,db=postgres,app=psql,client=[local] LOG:  duration: 5.400 ms  statement: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;
        2026-11-24 16:47:00 UTC [9256]: [4-1] user=postgres,db=postgres,app=psql,client=[local] LOG:  duration: 0.093 ms  plan:
        \tQuery Text: SELECT o.id FROM orders o
        \t  JOIN orders p ON p.id = o.id
        \t WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);
        \tHash Join  (cost=30.65..58.17 rows=6 width=4)
        \t  Hash Cond: (p.id = o.id)
        \t  ->  Seq Scan on orders p  (cost=0.00..22.70 rows=1270 width=4)
        \t  ->  Hash  (cost=30.64..30.64 rows=1 width=4)
        \t        ->  Seq Scan on orders o  (cost=0.00..30.64 rows=1 width=4)
        \t              Filter: ((note = 'SECRET-LITERAL-9137'::text) AND (id = ANY ('{1,2,3}'::integer[])))
        2026-11-24 16:47:00 UTC [9256]: [5-1] user=postgres,db=postgres,app=psql,client=[local] LOG:  duration: 0.947 ms  statement: SELECT o.id FROM orders o
        \t  JOIN orders p ON p.id = o.id
        \t WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);
        2026-11-24 16:47:00 UTC [9238]: [6-1] user=,db=,app=,client= LOG:  received fast shutdown request
        2026-11-24 16:47:00 UTC [9238]: [7-1] user=,db=,app=,client= LOG:  aborting any active transactions
        2026-11-24 16:47:00 UTC [9238]: [8-1] user=,db=,app=,client= LOG:  background worker "logical replication launcher" (PID 9251) exited with exit code 1
        2026-11-24 16:47:00 UTC [9242]: [1-1] user=,db=,app=,client= LOG:  shutting down
        2026-11-24 16:47:00 UTC [9242]: [2-1] user=,db=,app=,client= LOG:  checkpoint starting: shutdown immediate
        2026-11-24 16:47:00 UTC [9242]: [3-1] user=,db=,app=,client= LOG:  checkpoint complete: wrote 38 buffers (0.2%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.008 s, sync=0.029 s, total=0.069 s; sync files=29, longest=0.005 s, average=0.001 s; distance=193 kB, estimate=193 kB
        2026-11-24 16:47:00 UTC [9238]: [9-1] user=,db=,app=,client= LOG:  database system is shut down
        """

    /// The same records as csvlog (26 columns, quoted multi-line fields).
    static let csvlog = #"""
        2026-11-24 16:47:00.349 UTC,,,9238,,6b05bf84.2416,1,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"starting PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.352 UTC,,,9238,,6b05bf84.2416,2,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"listening on Unix socket ""/tmp/sq-pg2/.s.PGSQL.5499""",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.363 UTC,,,9246,,6b05bf84.241e,1,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"database system was shut down at 2026-11-24 16:47:00 UTC",,,,,,,,,"","startup",,0
        2026-11-24 16:47:00.371 UTC,,,9238,,6b05bf84.2416,3,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"database system is ready to accept connections",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.483 UTC,"postgres","postgres",9256,"[local]",6b05bf84.2428,1,"CREATE TABLE",2026-11-24 16:47:00 UTC,3/0,0,LOG,00000,"duration: 14.103 ms  statement: CREATE TABLE orders(id int, note text);",,,,,,,,,"psql","client backend",,0
        2026-11-24 16:47:00.484 UTC,"postgres","postgres",9256,"[local]",6b05bf84.2428,2,"INSERT",2026-11-24 16:47:00 UTC,3/3,725,LOG,00000,"duration: 0.678 ms  plan:
        Query Text: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;
        Insert on orders  (cost=0.00..10.00 rows=0 width=0)
          ->  Function Scan on generate_series g  (cost=0.00..10.00 rows=1000 width=36)",,,,,,,,,"psql","client backend",,0
        2026-11-24 16:47:00.488 UTC,"postgres","postgres",9256,"[local]",6b05bf84.2428,3,"INSERT",2026-11-24 16:47:00 UTC,3/0,0,LOG,00000,"duration: 5.400 ms  statement: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;",,,,,,,,,"psql","client backend",,0
        2026-11-24 16:47:00.489 UTC,"postgres","postgres",9256,"[local]",6b05bf84.2428,4,"SELECT",2026-11-24 16:47:00 UTC,3/4,0,LOG,00000,"duration: 0.093 ms  plan:
        Query Text: SELECT o.id FROM orders o
          JOIN orders p ON p.id = o.id
         WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);
        Hash Join  (cost=30.65..58.17 rows=6 width=4)
          Hash Cond: (p.id = o.id)
          ->  Seq Scan on orders p  (cost=0.00..22.70 rows=1270 width=4)
          ->  Hash  (cost=30.64..30.64 rows=1 width=4)
                ->  Seq Scan on orders o  (cost=0.00..30.64 rows=1 width=4)
                      Filter: ((note = 'SECRET-LITERAL-9137'::text) AND (id = ANY ('{1,2,3}'::integer[])))",,,,,,,,,"psql","client backend",,0
        2026-11-24 16:47:00.489 UTC,"postgres","postgres",9256,"[local]",6b05bf84.2428,5,"SELECT",2026-11-24 16:47:00 UTC,3/0,0,LOG,00000,"duration: 0.947 ms  statement: SELECT o.id FROM orders o
          JOIN orders p ON p.id = o.id
         WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);",,,,,,,,,"psql","client backend",,0
        2026-11-24 16:47:00.502 UTC,,,9238,,6b05bf84.2416,4,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"received fast shutdown request",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.503 UTC,,,9238,,6b05bf84.2416,5,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"aborting any active transactions",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.508 UTC,,,9238,,6b05bf84.2416,6,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"background worker ""logical replication launcher"" (PID 9251) exited with exit code 1",,,,,,,,,"","postmaster",,0
        2026-11-24 16:47:00.508 UTC,,,9242,,6b05bf84.241a,1,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"shutting down",,,,,,,,,"","checkpointer",,0
        2026-11-24 16:47:00.512 UTC,,,9242,,6b05bf84.241a,2,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"checkpoint starting: shutdown immediate",,,,,,,,,"","checkpointer",,0
        2026-11-24 16:47:00.576 UTC,,,9242,,6b05bf84.241a,3,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"checkpoint complete: wrote 38 buffers (0.2%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.008 s, sync=0.029 s, total=0.069 s; sync files=29, longest=0.005 s, average=0.001 s; distance=193 kB, estimate=193 kB",,,,,,,,,"","checkpointer",,0
        2026-11-24 16:47:00.591 UTC,,,9238,,6b05bf84.2416,7,,2026-11-24 16:47:00 UTC,,0,LOG,00000,"database system is shut down",,,,,,,,,"","postmaster",,0
        """#

    /// The same records as jsonlog.
    static let jsonlog = #"""
        {"timestamp":"2026-11-24 16:47:00.349 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":1,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"starting PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.352 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":2,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"listening on Unix socket \"/tmp/sq-pg2/.s.PGSQL.5499\"","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.363 UTC","pid":9246,"session_id":"6b05bf84.241e","line_num":1,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"database system was shut down at 2026-11-24 16:47:00 UTC","backend_type":"startup","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.371 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":3,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"database system is ready to accept connections","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.483 UTC","user":"postgres","dbname":"postgres","pid":9256,"remote_host":"[local]","session_id":"6b05bf84.2428","line_num":1,"ps":"CREATE TABLE","session_start":"2026-11-24 16:47:00 UTC","vxid":"3/0","txid":0,"error_severity":"LOG","message":"duration: 14.103 ms  statement: CREATE TABLE orders(id int, note text);","application_name":"psql","backend_type":"client backend","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.484 UTC","user":"postgres","dbname":"postgres","pid":9256,"remote_host":"[local]","session_id":"6b05bf84.2428","line_num":2,"ps":"INSERT","session_start":"2026-11-24 16:47:00 UTC","vxid":"3/3","txid":725,"error_severity":"LOG","message":"duration: 0.678 ms  plan:\nQuery Text: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;\nInsert on orders  (cost=0.00..10.00 rows=0 width=0)\n  ->  Function Scan on generate_series g  (cost=0.00..10.00 rows=1000 width=36)","application_name":"psql","backend_type":"client backend","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.488 UTC","user":"postgres","dbname":"postgres","pid":9256,"remote_host":"[local]","session_id":"6b05bf84.2428","line_num":3,"ps":"INSERT","session_start":"2026-11-24 16:47:00 UTC","vxid":"3/0","txid":0,"error_severity":"LOG","message":"duration: 5.400 ms  statement: INSERT INTO orders SELECT g, 'n' FROM generate_series(1,1000) g;","application_name":"psql","backend_type":"client backend","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.489 UTC","user":"postgres","dbname":"postgres","pid":9256,"remote_host":"[local]","session_id":"6b05bf84.2428","line_num":4,"ps":"SELECT","session_start":"2026-11-24 16:47:00 UTC","vxid":"3/4","txid":0,"error_severity":"LOG","message":"duration: 0.093 ms  plan:\nQuery Text: SELECT o.id FROM orders o\n  JOIN orders p ON p.id = o.id\n WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);\nHash Join  (cost=30.65..58.17 rows=6 width=4)\n  Hash Cond: (p.id = o.id)\n  ->  Seq Scan on orders p  (cost=0.00..22.70 rows=1270 width=4)\n  ->  Hash  (cost=30.64..30.64 rows=1 width=4)\n        ->  Seq Scan on orders o  (cost=0.00..30.64 rows=1 width=4)\n              Filter: ((note = 'SECRET-LITERAL-9137'::text) AND (id = ANY ('{1,2,3}'::integer[])))","application_name":"psql","backend_type":"client backend","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.489 UTC","user":"postgres","dbname":"postgres","pid":9256,"remote_host":"[local]","session_id":"6b05bf84.2428","line_num":5,"ps":"SELECT","session_start":"2026-11-24 16:47:00 UTC","vxid":"3/0","txid":0,"error_severity":"LOG","message":"duration: 0.947 ms  statement: SELECT o.id FROM orders o\n  JOIN orders p ON p.id = o.id\n WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);","application_name":"psql","backend_type":"client backend","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.502 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":4,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"received fast shutdown request","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.503 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":5,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"aborting any active transactions","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.508 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":6,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"background worker \"logical replication launcher\" (PID 9251) exited with exit code 1","backend_type":"postmaster","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.508 UTC","pid":9242,"session_id":"6b05bf84.241a","line_num":1,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"shutting down","backend_type":"checkpointer","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.512 UTC","pid":9242,"session_id":"6b05bf84.241a","line_num":2,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"checkpoint starting: shutdown immediate","backend_type":"checkpointer","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.576 UTC","pid":9242,"session_id":"6b05bf84.241a","line_num":3,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"checkpoint complete: wrote 38 buffers (0.2%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.008 s, sync=0.029 s, total=0.069 s; sync files=29, longest=0.005 s, average=0.001 s; distance=193 kB, estimate=193 kB","backend_type":"checkpointer","query_id":0}
        {"timestamp":"2026-11-24 16:47:00.591 UTC","pid":9238,"session_id":"6b05bf84.2416","line_num":7,"session_start":"2026-11-24 16:47:00 UTC","txid":0,"error_severity":"LOG","message":"database system is shut down","backend_type":"postmaster","query_id":0}
        """#
}
