// Daemonless build: the replacement for buildImage on containerd nodes.
def call(Map config = [:]) {
    podTemplate(yaml: libraryResource('podTemplates/kaniko.yaml')) {
        node(POD_LABEL) {
            checkout scm
            container('kaniko') {
                sh "/kaniko/executor --context=dir://\$PWD --destination=${config.image}:${config.tag}"
            }
        }
    }
}
