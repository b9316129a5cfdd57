//! `kecs-fake-kube --listen 127.0.0.1:0 --kubeconfig PATH --images img[,img...]`: serves the
//! fake Kubernetes API, writes a kubeconfig for it, prints `listening on ADDR`, and runs until
//! stopped.

use kecs_fake_kube::FakeKube;

#[actix_web::main]
async fn main() -> Result<(), String> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut kubeconfig = None;
    let mut images = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--kubeconfig" => kubeconfig = Some(value()?),
            "--images" => images = value()?.split(',').map(str::to_string).collect(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let fake = FakeKube::start(&listen, images)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if let Some(path) = kubeconfig {
        fake.write_kubeconfig(std::path::Path::new(&path))
            .map_err(|e| format!("writing {path}: {e}"))?;
    }
    println!("listening on {}", fake.addr);
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    fake.stop().await;
    Ok(())
}
