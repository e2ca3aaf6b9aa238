-- upload-1m.lua makes wrk POST a 1 MiB body on every request (the upload-1m scenario).
-- wrk adds Content-Length itself; the backend answers the number of bytes it received.
wrk.method = "POST"
wrk.path = "/upload"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
