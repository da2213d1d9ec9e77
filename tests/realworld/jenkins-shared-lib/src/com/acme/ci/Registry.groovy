package com.acme.ci

class Registry implements Serializable {
    def steps
    Registry(steps) { this.steps = steps }

    def login(String url, String credentialsId) {
        steps.withCredentials([steps.usernamePassword(credentialsId: credentialsId, usernameVariable: 'U', passwordVariable: 'P')]) {
            steps.sh "echo \$P | docker login ${url} -u \$U --password-stdin"
        }
    }
}
