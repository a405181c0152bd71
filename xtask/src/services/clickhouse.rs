//! A private ClickHouse from its own configuration directory.
//!
//! The configuration is written here rather than copied from `/etc`, so it is the same on every
//! machine. It is as close to production as 18.16 allows: zstd compression for parts at server
//! level (18.16 has no per-column codecs), `LowCardinality` enabled in the profile, and a server
//! timezone of Asia/Shanghai, so code that leans on the server's timezone instead of saying
//! which one it means fails here rather than in production.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::{Started, free_port, install, spawn_server};

pub(super) fn start(dir: &Path, http_port: u16) -> Result<Started> {
    let bin = install::ensure(&["clickhouse-server"], "clickhouse-server")?;
    let tcp_port = free_port()?;
    let interserver_port = free_port()?;
    for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let config = dir.join("config.xml");
    std::fs::write(&config, config_xml(dir, http_port, tcp_port, interserver_port))?;
    std::fs::write(dir.join("users.xml"), USERS_XML)?;
    let mut cmd = Command::new(&bin);
    cmd.arg(format!("--config-file={}", config.display())).current_dir(dir);
    let child = spawn_server(&mut cmd, &dir.join("log/stdout.log"))?;
    Ok(Started {
        child,
        url: format!("http://127.0.0.1:{http_port}"),
        program: bin.to_string_lossy().into_owned(),
    })
}

fn config_xml(dir: &Path, http: u16, tcp: u16, interserver: u16) -> String {
    let d = dir.display();
    format!(
        r#"<?xml version="1.0"?>
<!-- Written by `cargo xtask services up`; rewritten at every start. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>{d}/log/clickhouse-server.log</log>
        <errorlog>{d}/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <interserver_http_port>{interserver}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>10</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>1073741824</mark_cache_size>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>Asia/Shanghai</timezone>
    <mlock_executable>false</mlock_executable>
    <remote_servers>
        <tierstore_local>
            <shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>
        </tierstore_local>
    </remote_servers>
    <compression>
        <case>
            <min_part_size>0</min_part_size>
            <min_part_size_ratio>0</min_part_size_ratio>
            <method>zstd</method>
        </case>
    </compression>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
"#
    )
}

const USERS_XML: &str = r#"<?xml version="1.0"?>
<!-- Written by `cargo xtask services up`. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"#;
