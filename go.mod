module github.com/patchwatch/patchwatch

go 1.26.8

require (
	github.com/knqyf263/go-deb-version v0.0.0-20241115132648-6f4aee6ccd23
	go.etcd.io/bbolt v1.5.0
)

require golang.org/x/sys v0.45.0 // indirect
