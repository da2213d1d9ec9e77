// Builds and pushes the service image on a Kubernetes agent.
def call(Map config = [:]) {
    def image = config.image ?: error('buildImage: image is required')
    def tag = config.tag ?: env.GIT_COMMIT.take(8)
    podTemplate(yaml: libraryResource('podTemplates/docker.yaml')) {
        node(POD_LABEL) {
            checkout scm
            container('docker') {
                sh "docker build -t ${image}:${tag} ."
                sh "docker push ${image}:${tag}"
            }
        }
    }
}
