package rebillysim

// DigestAuthorization exposes the client side of Digest to tests.
var DigestAuthorization = digestAuthorization
