package config

import (
	"errors"
	"fmt"
)

// Store drivers.
const (
	DriverBolt     = "bolt"
	DriverPostgres = "postgres"
)

// EnvPostgresDSN holds the PostgreSQL DSN when store.dsn_file is unset.
const EnvPostgresDSN = "PATCHWATCH_POSTGRES_DSN"

// Store selects the database: bolt (the default: the file at db) or
// postgres, shared by several serve replicas.
type Store struct {
	// Driver is bolt or postgres.
	Driver string `yaml:"driver"`
	// DSNFile names the file holding the PostgreSQL connection string (a
	// secret: it carries the password); $PATCHWATCH_POSTGRES_DSN when unset.
	DSNFile string `yaml:"dsn_file"`
	// MaxConns bounds each process's connection pool; 0 keeps pgx's
	// default (4 per CPU, at least 4).
	MaxConns int32 `yaml:"max_conns"`
}

// Postgres reports whether the configuration uses PostgreSQL.
func (s Store) Postgres() bool { return s.Driver == DriverPostgres }

// DSN reads the PostgreSQL connection string.
func (s Store) DSN() (string, error) {
	dsn, err := Secret(s.DSNFile, EnvPostgresDSN)
	if err != nil {
		return "", fmt.Errorf("store.dsn_file: %w", err)
	}
	if dsn == "" {
		return "", fmt.Errorf("store.dsn_file: not set, and $%s is empty", EnvPostgresDSN)
	}
	return dsn, nil
}

func (s Store) validate() error {
	switch s.Driver {
	case "", DriverBolt, DriverPostgres:
	default:
		return fmt.Errorf("store.driver: %q is not bolt or postgres", s.Driver)
	}
	if s.MaxConns < 0 {
		return errors.New("store.max_conns: must not be negative")
	}
	return nil
}
