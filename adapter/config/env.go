package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv sets every field tagged `env:"NAME"` from getenv(NAME) when that
// is non-empty, walking nested structs. The variable's name is in the error.
func applyEnv(c *Config, getenv func(string) string) error {
	return walkEnv(reflect.ValueOf(c).Elem(), getenv)
}

func walkEnv(v reflect.Value, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if name := f.Tag.Get("env"); name != "" {
			if raw := getenv(name); raw != "" {
				if err := setFromString(fv, raw); err != nil {
					return fmt.Errorf("environment variable %s=%q: %w", name, raw, err)
				}
			}
			continue
		}
		if fv.Kind() == reflect.Struct {
			if err := walkEnv(fv, getenv); err != nil {
				return err
			}
		}
	}
	return nil
}

func setFromString(v reflect.Value, raw string) error {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("not a duration like 5s or 2m: %w", err)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := setFromString(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		v.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v.SetFloat(x)
	default:
		return fmt.Errorf("cannot be set from the environment (%s)", v.Kind())
	}
	return nil
}

// EnvNames lists every environment variable the config reads, for the
// README and the deploy manifests' drift test.
func EnvNames() []string {
	var out []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name := f.Tag.Get("env"); name != "" {
				out = append(out, name)
			} else if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	return out
}
